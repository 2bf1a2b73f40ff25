package dev.sparsa.profile;

/** Progress of a long profile: phases with a known amount of work each. Implementations must be thread-safe. */
public interface ProgressListener {

    /** A new phase begins with {@code total} units of work (tokens, evaluations ...). */
    void phase(String name, long total, String unit);

    /** {@code done} units of the current phase are complete. */
    void progress(long done);

    /** The run is over. */
    default void finish() {
    }

    ProgressListener NONE = new ProgressListener() {
        @Override
        public void phase(String name, long total, String unit) {
        }

        @Override
        public void progress(long done) {
        }
    };
}
