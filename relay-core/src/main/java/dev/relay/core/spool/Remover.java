package dev.relay.core.spool;

import dev.relay.core.model.QueueId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Removes finished messages: the entry first (the message is then gone), an fsync of its directory (a removed
 * message must not come back after a crash), then the body (deleted first, it could leave, after a crash, an entry
 * that refers to nothing). Removals of delivered messages from active/ are batched: one {@link GroupCommitter}
 * thread deletes the entries of all messages delivered meanwhile with one fsync of active/, and their bodies go to
 * the {@link SlotPool}. A message's entry never goes before the {@link Applier}'s checkpoint is past it.
 */
final class Remover implements AutoCloseable {
    private static final int MAX_BATCH = 256;
    /**
     * The remover rests this long after each batch so that removals share the fsync of active/ (and the applier's
     * round they wait for) even at one connection, where deliveries finish one by one. Nothing waits on a removal
     * but the message's own outcome: the queue gives the delivery's slot back before it. 50 ms against 5 ms, at one
     * connection on this machine's disk, alternating in one JVM: faster in seven pairs of eight (by 1-14%), the
     * session's commit mean lower in six: fewer journal commits compete with its fdatasync (docs/performance.md).
     */
    private static final long PAUSE_NANOS = 50_000_000L;

    private final SpoolParts parts;
    private final GroupCommitter batches;

    Remover(SpoolParts parts) {
        this.parts = parts;
        this.batches = new GroupCommitter("relay-spool-remove", this::removeBatch, 0, MAX_BATCH, PAUSE_NANOS);
    }

    void remove(QueueId id, QueueState from) throws IOException {
        if (from == QueueState.ACTIVE) {
            batches.commit(id.value()); // returns once the removal is durable and the body recycled
            return;
        }
        parts.applier().awaitApplied(id.value()); // a message still only safe in its slot would come back from there
        Files.deleteIfExists(parts.states().entry(from, id));
        parts.files().syncDirectory(parts.states().dir(from));
        Files.deleteIfExists(parts.states().bodyPath(id));
        if (from == QueueState.CORRUPT) { // an operator deleting a quarantined message: its body too
            Files.deleteIfExists(parts.states().dir(from).resolve(id.value() + ".body"));
        }
    }

    /** One batch of removals from active/. */
    private void removeBatch(List<GroupCommitter.Pending> batch) {
        Path active = parts.states().dir(QueueState.ACTIVE);
        List<GroupCommitter.Pending> removed = new ArrayList<>(batch.size());
        for (GroupCommitter.Pending p : batch) {
            try {
                parts.applier().awaitApplied(p.name);
                Files.deleteIfExists(active.resolve(p.name));
                removed.add(p);
            } catch (IOException e) {
                p.fail(e);
            }
        }
        try {
            parts.files().syncDirectory(active);
        } catch (IOException e) {
            for (GroupCommitter.Pending p : removed) {
                p.fail(e); // the body stays; an envelope that is really gone leaves an orphan, removed at start
            }
            return;
        }
        List<SlotPool.Slot> reusable = new ArrayList<>();
        List<GroupCommitter.Pending> done = new ArrayList<>(removed.size());
        for (GroupCommitter.Pending p : removed) {
            try {
                SlotPool.Slot r = parts.slots().recycleOrDelete(parts.states().bodyPath(p.name));
                if (r != null) {
                    reusable.add(r);
                }
                done.add(p);
            } catch (IOException e) {
                p.fail(e);
            }
        }
        if (!reusable.isEmpty()) {
            try {
                // a slot's name is durable before a message is committed in it
                parts.files().syncDirectory(parts.slots().dir());
                for (SlotPool.Slot r : reusable) {
                    parts.slots().offer(r, true);
                }
            } catch (IOException e) {
                for (SlotPool.Slot r : reusable) {
                    DurableFiles.deleteQuietly(r.path());
                }
            }
        }
        for (GroupCommitter.Pending p : done) {
            p.succeed();
        }
    }

    @Override
    public void close() {
        batches.close(); // (its last batch may wait for the applier)
    }
}
