/* A larger object of the gate tests: about 5 pages of text (20000 bytes of nops in
 * one function), so that one glob matches two objects of different sizes. */
int gate_b(int x) {
    __asm__ volatile(".fill 20000, 1, 0x90");
    return x + 2;
}
