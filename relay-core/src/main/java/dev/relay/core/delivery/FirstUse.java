package dev.relay.core.delivery;

/**
 * A value made at its first use, once, by any number of threads (double-checked: after it is made, a read is one
 * volatile load). A making that throws is tried again at the next use.
 */
final class FirstUse<T, E extends Exception> {
    /** Makes the value; never returns null. */
    interface Maker<T, E extends Exception> {
        T make() throws E;
    }

    private final Maker<T, E> maker;
    private volatile T value;

    FirstUse(Maker<T, E> maker) {
        this.maker = maker;
    }

    T get() throws E {
        T v = value;
        if (v == null) {
            synchronized (this) {
                v = value;
                if (v == null) {
                    v = maker.make();
                    value = v;
                }
            }
        }
        return v;
    }
}
