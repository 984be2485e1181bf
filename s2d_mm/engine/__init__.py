# Each module adds its import line here when it lands.
