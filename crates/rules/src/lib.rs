//! audex-rules
