package dev.sparsa.perf;

import java.util.Arrays;

/** Median and range of repeated measurements (tok/s of the timed repetitions). */
public record Stats(double median, double min, double max, int n) {

    public static Stats of(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        double med = n == 0 ? Double.NaN : n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        return new Stats(med, n == 0 ? Double.NaN : s[0], n == 0 ? Double.NaN : s[n - 1], n);
    }

    @Override
    public String toString() {
        return String.format("%.2f [%.2f–%.2f]", median, min, max);
    }
}
