package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.QueueId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The messages in their {@link QueueState} directories: reading an entry back ({@link #load}, {@link #peek}),
 * listing, moving and replacing envelopes, and quarantining what does not read back to corrupt/.
 *
 * <p>An entry is either an envelope file or, for a message not attempted yet, a hard link to its body file, whose
 * trailer is the envelope. Every state change is an atomic rename of the entry, followed by an fsync of the target
 * directory, except into active/: recovery returns active/ to incoming/ anyway, so a lost rename there only means
 * the message is picked from where it was.
 */
final class StateDirectories {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);
    /** Every state but active/, where recovery and {@link #releaseActive} look for a message's other entry. */
    private static final List<QueueState> SETTLED = List.of(QueueState.INCOMING, QueueState.DEFERRED,
            QueueState.HOLD, QueueState.FAILED, QueueState.CORRUPT);

    private final Path tmp;
    private final Path data;
    private final Map<QueueState, Path> states = new EnumMap<>(QueueState.class);
    private final DurableFiles files;
    private final Applier applier;

    StateDirectories(Path root, DurableFiles files, Applier applier) {
        this.tmp = root.resolve("tmp");
        this.data = root.resolve("data");
        for (QueueState s : QueueState.values()) {
            states.put(s, root.resolve(s.key()));
        }
        this.files = files;
        this.applier = applier;
    }

    Path dir(QueueState state) {
        return states.get(state);
    }

    Path entry(QueueState state, QueueId id) {
        return states.get(state).resolve(id.value());
    }

    Path bodyPath(QueueId id) {
        return data.resolve(id.value());
    }

    Path bodyPath(String name) {
        return data.resolve(name);
    }

    static List<QueueState> settled() {
        return SETTLED;
    }

    /**
     * The envelope of {@code id} in {@code state}. An unreadable or torn envelope, or a body of the wrong size, is
     * moved to corrupt/ (with a log line) and reported as empty; a missing file is empty too.
     */
    Optional<Spool.Stored> load(QueueState state, QueueId id) throws SpoolException {
        byte[] bytes;
        try {
            bytes = SpoolFiles.readStateFile(entry(state, id));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot read envelope: " + e, e);
        }
        try {
            EnvelopeCodec.Decoded d = decodeOrTrailer(state, id, bytes);
            long actual = Files.size(bodyPath(id));
            if (actual < d.bodySize()) {
                throw new SpoolException("body has " + actual + " bytes, envelope says " + d.bodySize());
            }
            return Optional.of(new Spool.Stored(d.envelope(), d.bodySize()));
        } catch (IOException e) {
            log.error("{}: corrupt message in {} quarantined to corrupt/: {}", id, state.key(), e.getMessage());
            quarantine(state, id);
            return Optional.empty();
        }
    }

    /** The envelope of {@code id} in {@code state} for display: anything that does not read is simply empty. */
    Optional<Spool.Stored> peek(QueueState state, QueueId id) {
        try {
            EnvelopeCodec.Decoded d = decodeOrTrailer(state, id, SpoolFiles.readStateFile(entry(state, id)));
            return Optional.of(new Spool.Stored(d.envelope(), d.bodySize()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The envelope from its file, or, for a message that has not been attempted yet (incoming/, active/), from the
     * body's trailer when the file is torn: its bytes were not fsynced at commit, the trailer's were.
     */
    private EnvelopeCodec.Decoded decodeOrTrailer(QueueState state, QueueId id, byte[] bytes) throws IOException {
        try {
            if (bytes == null) {
                if (DurableFiles.isSameFile(entry(state, id), bodyPath(id))) {
                    // a message not attempted yet: its entry is a link to its body file, whose trailer is the envelope
                    return checkId(id, SpoolFiles.readTrailer(bodyPath(id))
                            .orElseThrow(() -> new SpoolException("body file has no whole envelope trailer")));
                }
                throw new SpoolException("not an envelope file");
            }
            return checkId(id, EnvelopeCodec.decode(bytes));
        } catch (SpoolException torn) {
            if (state != QueueState.INCOMING && state != QueueState.ACTIVE) {
                throw torn;
            }
            Optional<EnvelopeCodec.Decoded> t = SpoolFiles.readTrailer(bodyPath(id));
            if (t.isEmpty()) {
                throw torn;
            }
            EnvelopeCodec.Decoded d = checkId(id, t.get());
            log.info("{}: envelope in {} was torn ({}); read from the body's trailer", id, state.key(),
                    torn.getMessage());
            return d;
        }
    }

    private static EnvelopeCodec.Decoded checkId(QueueId id, EnvelopeCodec.Decoded d) throws SpoolException {
        if (!d.envelope().id().equals(id)) {
            throw new SpoolException("envelope carries id " + d.envelope().id());
        }
        return d;
    }

    /** The state whose directory holds {@code id}'s entry, if any (active checked first). */
    Optional<QueueState> stateOf(QueueId id) {
        for (QueueState s : QueueState.values()) {
            if (Files.exists(entry(s, id))) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** The size of the file of {@code id} in {@code state} (the body; for corrupt/, the quarantined body), or 0. */
    long bodySize(QueueState state, QueueId id) {
        Path p = state == QueueState.CORRUPT ? states.get(state).resolve(id.value() + ".body") : bodyPath(id);
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    /** The ids in {@code state}, oldest first (ids are time-ordered). */
    List<QueueId> list(QueueState state) throws SpoolException {
        try {
            List<QueueId> ids = new ArrayList<>();
            for (Path p : DurableFiles.entries(states.get(state))) {
                String n = p.getFileName().toString();
                if (QueueId.isValid(n)) {
                    ids.add(new QueueId(n));
                }
            }
            ids.sort((a, b) -> a.value().compareTo(b.value()));
            return ids;
        } catch (IOException e) {
            throw new SpoolException("cannot list " + state.key() + ": " + e, e);
        }
    }

    /** Moves a message between states without changing its envelope. */
    void move(QueueId id, QueueState from, QueueState to) throws SpoolException {
        try {
            DurableFiles.rename(entry(from, id), entry(to, id));
            if (to != QueueState.ACTIVE) { // recovery returns active/ to incoming/: a lost rename there is harmless
                files.syncDirectory(states.get(to));
            }
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot move from " + from.key() + " to " + to.key() + ": " + e, e);
        }
    }

    /**
     * Takes back a message left in active/ when its outcome could not be recorded: as recovery at start would, its
     * entry goes back to incoming/, or is dropped from active/ when the message is in another state already.
     */
    Optional<QueueState> releaseActive(QueueId id) throws SpoolException {
        Path entry = entry(QueueState.ACTIVE, id);
        try {
            if (!Files.exists(entry)) {
                return stateOf(id);
            }
            for (QueueState s : SETTLED) {
                if (Files.exists(entry(s, id))) {
                    Files.delete(entry);
                    return Optional.of(s);
                }
            }
            move(id, QueueState.ACTIVE, QueueState.INCOMING);
            return Optional.of(QueueState.INCOMING);
        } catch (IOException e) {
            throw new SpoolException(id + ": cannot take back from active: " + e, e);
        }
    }

    /**
     * Replaces the envelope and moves it from {@code from} to {@code to} in one step that survives a crash: the new
     * envelope is written (fsynced) and made visible in {@code to} before the old one goes.
     */
    void update(Envelope envelope, long bodySize, QueueState from, QueueState to) throws IOException {
        String name = envelope.id().value();
        Path envTmp = tmp.resolve(name + ".env");
        try {
            applier.awaitApplied(name); // its data/ name must be durable before its entry, a link, may go
            files.writeSynced(envTmp, EnvelopeCodec.encode(envelope, bodySize));
            DurableFiles.rename(envTmp, states.get(to).resolve(name));
            files.syncDirectory(states.get(to));
            if (from != to) {
                Files.deleteIfExists(states.get(from).resolve(name));
            }
        } catch (IOException e) {
            DurableFiles.deleteQuietly(envTmp);
            throw e;
        }
    }

    /** Moves the entry and the body of {@code id} to corrupt/ (the body as {@code <id>.body}). */
    void quarantine(QueueState state, QueueId id) {
        try {
            Path corrupt = states.get(QueueState.CORRUPT);
            DurableFiles.rename(entry(state, id), corrupt.resolve(id.value()));
            Path body = bodyPath(id);
            if (Files.exists(body)) {
                DurableFiles.rename(body, corrupt.resolve(id.value() + ".body"));
            }
            files.syncDirectory(corrupt);
        } catch (IOException e) {
            log.error("{}: cannot quarantine: {}", id, e.toString());
        }
    }
}
