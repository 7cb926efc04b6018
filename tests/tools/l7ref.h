static int random_flows(unsigned long n, unsigned long seed) { (void)n; (void)seed; return 1; }
