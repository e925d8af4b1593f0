package dev.relay.core.spool;

import dev.relay.core.model.Envelope;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * The commit where the file system has no hard links: the body (with its trailer) goes to {@code data/<id>} and is
 * fdatasynced, an envelope file goes to tmp/ without an fsync of its own (torn by a crash, it is read again from
 * the body's trailer: {@link StateDirectories#load}); then the {@link GroupCommitter} takes the messages of all
 * sessions that are ready, fsyncs data/ once, renames their envelope files into incoming/ and fsyncs incoming/ once,
 * before each client gets its 250.
 *
 * <p>A body file is a free slot renamed to data/ when there is one (see {@link SlotPool} for why), else new.
 */
final class EnvelopeFileCommit extends CommitPath {
    /** How long the committer waits for sessions that are still syncing their files to join its batch. */
    private static final long MAX_COMMIT_DELAY_NANOS = 2_000_000L;
    private static final int MAX_BATCH = 256;

    private final Path tmp;
    private final GroupCommitter committer;

    EnvelopeFileCommit(SpoolParts parts, Failure failure, LongConsumer latency) {
        super(parts, failure, latency);
        this.tmp = parts.root().resolve("tmp");
        this.committer = new GroupCommitter(this::commitBatch, MAX_COMMIT_DELAY_NANOS, MAX_BATCH);
    }

    @Override
    long commit(Envelope envelope, InputStream body) throws SpoolException {
        String name = envelope.id().value();
        Path bodyFile = data.resolve(name); // invisible until an entry in incoming/ refers to it
        Path envTmp = tmp.resolve(name + ".env");
        boolean syncing = false;
        boolean committed = false;
        byte[] envelopeBytes;
        try {
            long size;
            long bodyEnd;
            try (FileChannel ch = openBodyFile(bodyFile)) {
                size = copy(body, ch, null);
                bodyEnd = System.nanoTime();
                envelopeBytes = EnvelopeCodec.encode(envelope, size);
                writeTrailer(ch, envelopeBytes, SpoolFiles.footer(envelopeBytes.length));
                committer.syncStarted();
                syncing = true;
                files.forceData(ch); // body and trailer on disk before anything points to them
            }
            // no fsync of its own: torn by a crash, it is read again from the body's trailer
            DurableFiles.writeUnsynced(envTmp, envelopeBytes);
            syncing = false;
            committer.commit(name); // returns once this message's entry in incoming/ is durable
            committed = true;
            return reported(size, bodyEnd);
        } catch (IOException e) {
            throw failure.of(envelope, e);
        } finally {
            if (syncing) {
                committer.syncAbandoned();
            }
            if (!committed) {
                DurableFiles.deleteQuietly(envTmp);
                DurableFiles.deleteQuietly(bodyFile);
            }
        }
    }

    /** A file to write a new body into, at {@code body} in data/: a free slot renamed there if there is one. */
    private FileChannel openBodyFile(Path body) throws IOException {
        SlotPool.Slot r;
        while ((r = slots.poll()) != null) {
            try {
                DurableFiles.rename(r.path(), body);
                return FileChannel.open(body, StandardOpenOption.WRITE);
            } catch (IOException e) {
                DurableFiles.deleteQuietly(r.path());
                DurableFiles.deleteQuietly(body);
            }
        }
        return DurableFiles.openPrivate(body, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    /**
     * The committer's half, for a batch whose bodies are durable in data/ under their final names and whose
     * envelopes are in tmp/: one fsync of data/, the renames, one fsync of incoming/.
     */
    private void commitBatch(List<GroupCommitter.Pending> batch) {
        try {
            files.syncDirectory(data); // the bodies' names must be durable before the envelopes that refer to them
        } catch (IOException e) {
            for (GroupCommitter.Pending p : batch) {
                p.fail(e);
            }
            return;
        }
        List<GroupCommitter.Pending> renamed = new ArrayList<>(batch.size());
        for (GroupCommitter.Pending p : batch) {
            try {
                DurableFiles.rename(tmp.resolve(p.name + ".env"), incoming.resolve(p.name));
                renamed.add(p);
            } catch (IOException e) {
                p.fail(e);
            }
        }
        if (renamed.isEmpty()) {
            return;
        }
        try {
            files.syncDirectory(incoming); // the commit point of the whole batch: now its messages exist
        } catch (IOException e) {
            // not known to be durable, so not acknowledged: take them back (a crash now may keep some, which
            // is a duplicate for a client that retries, never a loss)
            for (GroupCommitter.Pending p : renamed) {
                DurableFiles.deleteQuietly(incoming.resolve(p.name));
                p.fail(e);
            }
            return;
        }
        for (GroupCommitter.Pending p : renamed) {
            p.succeed();
        }
    }

    @Override
    CommitStats stats() {
        return committer.stats();
    }

    @Override
    public void close() {
        committer.close();
    }
}
