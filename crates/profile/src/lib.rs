//! audex-profile
