package dev.sparsa.cli.serve;

import java.util.List;

/**
 * The {@code stop} strings of a request over a stream of text: text passes through, except that a tail which could
 * still become a stop string is held back, and once one appears the text ends just before it (OpenAI: the stop
 * string itself is not returned). Not thread-safe: one per sequence.
 */
final class StopStrings {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopStrings(List<String> stops) {
        this.stops = List.copyOf(stops);
    }

    boolean stopped() {
        return stopped;
    }

    /** Appends {@code text}; returns what can be sent now (before a stop string, if one appeared). */
    String push(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        if (stops.isEmpty()) {
            return take(pending.length());
        }
        int cut = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) {
                cut = i;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        return take(pending.length() - heldBack());
    }

    /** At the end without a stop string: what was held back. */
    String flush() {
        return stopped ? "" : take(pending.length());
    }

    /** Length of the longest tail of the pending text that is a proper prefix of a stop string. */
    private int heldBack() {
        int best = 0;
        String p = pending.toString();
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, p.length()); k > best; k--) {
                if (p.regionMatches(p.length() - k, s, 0, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    private String take(int n) {
        String out = pending.substring(0, n);
        pending.delete(0, n);
        return out;
    }
}
