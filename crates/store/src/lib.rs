//! audex-store
