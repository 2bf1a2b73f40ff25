package dev.sparsa.io.tokenizer;

import java.util.Arrays;

/** A binary min-heap of longs (no boxing): the merge work queues of the BPE encoders. */
final class LongHeap {
    private long[] h;
    private int n;

    LongHeap(int capacity) {
        h = new long[Math.max(4, capacity)];
    }

    boolean isEmpty() {
        return n == 0;
    }

    void push(long v) {
        if (n == h.length) {
            h = Arrays.copyOf(h, n * 2);
        }
        int i = n++;
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (h[p] <= v) {
                break;
            }
            h[i] = h[p];
            i = p;
        }
        h[i] = v;
    }

    long pop() {
        long top = h[0];
        long v = h[--n];
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            if (l >= n) {
                break;
            }
            int c = l + 1 < n && h[l + 1] < h[l] ? l + 1 : l;
            if (h[c] >= v) {
                break;
            }
            h[i] = h[c];
            i = c;
        }
        if (n > 0) {
            h[i] = v;
        }
        return top;
    }
}
