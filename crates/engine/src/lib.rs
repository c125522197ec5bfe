//! audex-engine
