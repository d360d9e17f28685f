/* A small object of the gate tests: one page of text. */
int gate_a(int x) { return x + 1; }
