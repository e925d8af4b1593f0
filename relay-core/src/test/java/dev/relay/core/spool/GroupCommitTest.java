package dev.relay.core.spool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.relay.core.model.Envelope;
import dev.relay.core.model.MailAddress;
import dev.relay.core.model.QueueId;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupCommitTest {
    @TempDir
    Path dir;

    private static Envelope envelope() {
        Instant now = Instant.now();
        return Envelope.received(QueueId.next(now), MailAddress.of("a@example.com"),
                List.of(MailAddress.of("b@example.com")), now, "demo");
    }

    @Test
    void concurrentStoresShareDirectoryFsyncsAndAllSurviveReopening() throws Exception {
        int threads = 16, perThread = 8, n = threads * perThread;
        List<QueueId> stored = Collections.synchronizedList(new ArrayList<>());
        long fsyncs;
        CommitStats stats;
        Spool spool = Spool.open(dir);
        try {
            long atOpen = spool.fsyncCount(); // recovery's own directory fsyncs
            CyclicBarrier start = new CyclicBarrier(threads);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        Envelope e = envelope();
                        spool.store(e, new ByteArrayInputStream(new byte[2048]));
                        stored.add(e.id());
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            spool.close(); // the applier's last round
            fsyncs = spool.fsyncCount() - atOpen;
            stats = spool.commitStats();
        } finally {
            spool.close();
        }
        assertThat(stats.messages()).as("messages applied").isEqualTo(n);
        assertThat(stats.batches()).as("applier rounds").isLessThan(n / 4);
        // per message: its slot file (its trailer holds the envelope); per round of the applier: data/, incoming/,
        // active/ and the checkpoint; per 16 new slot files: slots/ (the pool was empty; sessions that find it
        // empty at the same time each make 16, so how many such fsyncs there are varies)
        assertThat(fsyncs).isGreaterThan(n + 4 * stats.batches()).isLessThan(2L * n);
        try (Spool reopened = Spool.open(dir)) {
            assertThat(reopened.list(QueueState.INCOMING)).containsExactlyInAnyOrderElementsOf(stored);
            for (QueueId id : stored) {
                assertThat(reopened.load(QueueState.INCOMING, id).orElseThrow().bodySize()).isEqualTo(2048);
            }
        }
    }

    @Test
    void commitsQueuedWhileABatchIsWrittenFormTheNextBatch() throws Exception {
        CountDownLatch firstBatchEntered = new CountDownLatch(1);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        GroupCommitter committer = new GroupCommitter(batch -> {
            sizes.add(batch.size());
            if (sizes.size() == 1) {
                firstBatchEntered.countDown();
                try {
                    releaseFirst.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            batch.forEach(GroupCommitter.Pending::succeed);
        }, 0, 256);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            pool.submit(() -> {
                committer.commit("first");
                return null;
            });
            assertThat(firstBatchEntered.await(10, TimeUnit.SECONDS)).isTrue();
            List<Future<?>> rest = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                String name = "m" + i;
                rest.add(pool.submit(() -> {
                    committer.commit(name);
                    return null;
                }));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> committer.pending() == 10);
            releaseFirst.countDown();
            for (Future<?> f : rest) {
                f.get(10, TimeUnit.SECONDS);
            }
        } finally {
            committer.close();
        }
        assertThat(sizes).containsExactly(1, 10);
    }

    @Test
    void aCommitWithNothingToShareIsWrittenByItsOwnThreadAndOneWithAPauseIsNot() throws Exception {
        List<Thread> writers = new CopyOnWriteArrayList<>();
        GroupCommitter.BatchWriter recording = batch -> {
            writers.add(Thread.currentThread());
            batch.forEach(GroupCommitter.Pending::succeed);
        };
        GroupCommitter alone = new GroupCommitter(recording, 2_000_000L, 256);
        try {
            alone.syncStarted();
            alone.commit("x");
            assertThat(writers).containsExactly(Thread.currentThread());
            assertThat(alone.stats()).isEqualTo(new CommitStats(1, 1));
        } finally {
            alone.close();
        }
        writers.clear();
        GroupCommitter paced = new GroupCommitter("test-remover", recording, 0, 256, 1_000_000L);
        try {
            paced.commit("y");
            assertThat(writers).hasSize(1).doesNotContain(Thread.currentThread());
        } finally {
            paced.close();
        }
    }

    @Test
    void aFailedBatchFailsEveryCommitInIt() throws Exception {
        GroupCommitter committer = new GroupCommitter(
                batch -> batch.forEach(p -> p.fail(new IOException("disk on fire"))), 0, 256);
        try {
            assertThatThrownBy(() -> committer.commit("x")).isInstanceOf(IOException.class)
                    .hasMessage("disk on fire");
        } finally {
            committer.close();
        }
    }

    @Test
    void commitAfterCloseFails() {
        GroupCommitter committer = new GroupCommitter(batch -> batch.forEach(GroupCommitter.Pending::succeed), 0,
                256);
        committer.close();
        assertThatThrownBy(() -> committer.commit("x")).isInstanceOf(IOException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void failedCommitLeavesNothingVisibleAndTheSpoolKeepsWorking() throws Exception {
        try (Spool spool = Spool.open(dir)) {
            Path incoming = dir.resolve("incoming");
            Files.delete(incoming); // the envelope's rename into incoming/ fails
            Envelope lost = envelope();
            assertThatThrownBy(() -> spool.store(lost, new ByteArrayInputStream(new byte[10])))
                    .isInstanceOf(SpoolException.class).isNotInstanceOf(InsufficientStorageException.class);
            assertThat(dir.resolve("tmp")).isEmptyDirectory();
            assertThat(dir.resolve("data")).isEmptyDirectory();
            Files.createDirectory(incoming);
            Envelope next = envelope();
            spool.store(next, new ByteArrayInputStream(new byte[10]));
            assertThat(spool.list(QueueState.INCOMING)).containsExactly(next.id());
        }
    }
}
