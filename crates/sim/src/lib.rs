//! audex-sim
