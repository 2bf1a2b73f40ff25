package dev.sparsa.io.tokenizer;

import java.util.Arrays;

/** A growable int array: the token ids an encoder appends to. Not thread-safe; one per encode call. */
final class Ids {
    private int[] a;
    private int n;

    Ids(int capacity) {
        a = new int[Math.max(4, capacity)];
    }

    void add(int id) {
        if (n == a.length) {
            a = Arrays.copyOf(a, a.length * 2);
        }
        a[n++] = id;
    }

    void addAll(int[] ids) {
        if (n + ids.length > a.length) {
            a = Arrays.copyOf(a, Math.max(a.length * 2, n + ids.length));
        }
        System.arraycopy(ids, 0, a, n, ids.length);
        n += ids.length;
    }

    int size() {
        return n;
    }

    int get(int i) {
        return a[i];
    }

    int[] toArray() {
        return Arrays.copyOf(a, n);
    }

    int[] toArray(int from) {
        return Arrays.copyOfRange(a, from, n);
    }
}
