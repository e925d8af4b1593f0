package dev.relay.server.doctor;

/** One diagnostic verdict: what was checked, how it went, what was seen, and what to do about it. */
public record Check(String name, Verdict verdict, String detail, String fix) {
    public enum Verdict { OK, INFO, WARN, FAIL }

    static Check ok(String name, String detail) {
        return new Check(name, Verdict.OK, detail, "");
    }

    static Check info(String name, String detail) {
        return new Check(name, Verdict.INFO, detail, "");
    }

    static Check warn(String name, String detail, String fix) {
        return new Check(name, Verdict.WARN, detail, fix);
    }

    static Check fail(String name, String detail, String fix) {
        return new Check(name, Verdict.FAIL, detail, fix);
    }
}
