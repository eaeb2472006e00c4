"""Pure trading logic: values in, decisions out. No I/O, no clock reads, no logging, no AWS."""
