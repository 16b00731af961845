"""Fast tests of pure code: the core, the configuration, geometry and parsing, and the architecture (the layers
kept, the core free of I/O); no broker, database, detector or video decoding."""
