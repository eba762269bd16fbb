"""Pure domain logic: no I/O, no clocks read, no globals. Tested in microseconds."""
