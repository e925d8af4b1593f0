package dev.relay.core.spool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link Spool#open} does after taking the lock: it brings the spool back to a state in which every message
 * acknowledged is visible, whole, and nothing else is. Files in tmp/ are removed; active/ goes back to incoming/
 * (a message whose new state's envelope exists loses only its active/ entry); a message committed in a slot whose
 * names a crash lost gets them back ({@link #recoverSlots}); a body whose data/ name was not yet durable gets it
 * back from its entry (the same file); bodies without an entry (never acknowledged) go. The layout of an older
 * release ({@code recycle/}) is removed. Everything recovered is made durable before the {@link Applier} starts.
 */
final class SpoolRecovery {
    private static final Logger log = LoggerFactory.getLogger(Spool.class);

    private final SpoolParts parts;
    private final Path root;
    private final Path tmp;
    private final Path data;
    private final Path checkpointFile;
    private final boolean links;

    SpoolRecovery(SpoolParts parts, boolean links) {
        this.parts = parts;
        this.root = parts.root();
        this.tmp = root.resolve("tmp");
        this.data = root.resolve("data");
        this.checkpointFile = root.resolve("checkpoint");
        this.links = links;
    }

    void recover() throws IOException {
        makeDirectoriesPrivate();
        int removedTmp = 0, requeued = 0, orphans = 0;
        Path oldPool = root.resolve("recycle"); // the files kept for reuse by releases before slots
        if (Files.isDirectory(oldPool)) {
            for (Path p : DurableFiles.entries(oldPool)) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(oldPool);
        }
        for (Path p : DurableFiles.entries(tmp)) {
            Files.deleteIfExists(p);
            removedTmp++;
        }
        Set<String> known = new HashSet<>();
        for (QueueState s : StateDirectories.settled()) {
            for (Path p : DurableFiles.entries(parts.states().dir(s))) {
                known.add(p.getFileName().toString());
            }
        }
        Path incoming = parts.states().dir(QueueState.INCOMING);
        for (Path p : DurableFiles.entries(parts.states().dir(QueueState.ACTIVE))) {
            String name = p.getFileName().toString();
            if (known.contains(name)) {
                // a crash between writing the new state's envelope and removing the active one
                Files.delete(p);
            } else {
                DurableFiles.rename(p, incoming.resolve(name));
                known.add(name);
                requeued++;
            }
        }
        int restored = recoverSlots(known);
        int relinked = 0;
        for (QueueState s : List.of(QueueState.INCOMING, QueueState.HOLD)) {
            for (Path p : DurableFiles.entries(parts.states().dir(s))) {
                Path body = data.resolve(p.getFileName().toString());
                if (!Files.exists(body) && SpoolFiles.readStateFile(p) == null) {
                    // a committed message whose body name in data/ was not yet durable (data/ is not fsynced at
                    // commit when the entry is a link): the entry is the body file, so its name comes back
                    Files.createLink(body, p);
                    relinked++;
                }
            }
        }
        for (Path p : DurableFiles.entries(data)) {
            if (!known.contains(p.getFileName().toString())) {
                // its envelope was never made visible, so the client never got 250
                Files.delete(p);
                orphans++;
            }
        }
        parts.files().syncDirectory(incoming);
        parts.files().syncDirectory(data);
        parts.files().syncDirectory(parts.slots().dir());
        if (links) {
            parts.applier().start();
        }
        if (removedTmp + requeued + orphans + relinked + restored > 0) {
            log.info("spool recovered: {} unfinished temp files removed, {} active messages back to incoming, "
                    + "{} unacknowledged bodies removed, {} body names restored, {} messages restored from their "
                    + "slots", removedTmp, requeued, orphans, relinked, restored);
        }
    }

    /**
     * A spool made before its files were created 0600 and its directories 0700 (with a umask of 022: 0755 and
     * 0644) is closed to other users. Its own directories (tmp/, data/, slots/, the states) become 0700, as the
     * spool creates them; the root, which an operator or a package may have made (0750 for a group, a volume's
     * mount point), only loses what other users may do. That is enough: a file is opened only through every
     * directory above it, and every name of a spool file (its data/ name, its entry, its slot) is in one of those
     * directories, so nobody else can open one, whatever its own mode. Files keep their mode on purpose: a chmod
     * per file is an inode write per message at the first open (for a backlog of a hundred thousand messages a
     * long start) for no access the directories do not already deny, and every file written since is 0600.
     */
    private void makeDirectoriesPrivate() {
        List<String> changed = new ArrayList<>();
        try {
            if (DurableFiles.revoke(root, DurableFiles.OTHERS)) {
                changed.add(". (o-rwx)");
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            log.info("spool {}: other users' permissions on the spool directory left as they are ({}); the "
                    + "directories inside are the relay's own", root, e.toString());
        }
        List<Path> own = new ArrayList<>(List.of(tmp, data, parts.slots().dir()));
        for (QueueState s : QueueState.values()) {
            own.add(parts.states().dir(s));
        }
        for (Path dir : own) {
            try {
                if (DurableFiles.revoke(dir, DurableFiles.GROUP_AND_OTHERS)) {
                    changed.add(root.relativize(dir).toString());
                }
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                log.warn("spool {}: cannot make {} 0700: {}", root, dir, e.toString());
            }
        }
        if (!changed.isEmpty()) {
            log.info("spool {}: {} directories that an older version left open to other users made private, 0700 "
                    + "below the root ({}); the files inside are reachable only through them", root, changed.size(),
                    String.join(", ", changed));
        }
    }

    /**
     * The slots at open: a slot whose content is whole and at or past the checkpoint holds a message that was
     * acknowledged but whose names in the directories may not have been durable; it gets its data/ name back, and
     * an entry in incoming/ unless it is in some state already. Any other slot is stale: free for reuse, unless the
     * file also has another name (a message's, whose slot name was being removed), then only the slot name goes.
     * Stale content of a reused file is below the checkpoint; a torn one fails the CRC.
     *
     * @return the number of messages put back into incoming/
     */
    private int recoverSlots(Set<String> known) throws IOException {
        Optional<Long> saved = links ? SpoolFiles.readCheckpoint(checkpointFile) : Optional.empty();
        if (links && saved.isEmpty() && Files.exists(checkpointFile)) {
            log.warn("spool {}: checkpoint file unreadable; every whole slot is taken as a message (duplicates "
                    + "possible, no loss)", root);
        }
        long cp = links ? saved.orElse(0L) : Long.MAX_VALUE;
        long maxSeq = -1;
        int restored = 0;
        for (Path p : DurableFiles.entries(parts.slots().dir())) {
            String file = p.getFileName().toString();
            parts.slots().noteExisting(file);
            Optional<SpoolFiles.SlotContent> c = links ? SpoolFiles.readSlot(p) : Optional.empty();
            if (c.isPresent()) {
                maxSeq = Math.max(maxSeq, c.get().seq());
            }
            if (c.isPresent() && c.get().seq() >= cp) {
                String name = c.get().decoded().envelope().id().value();
                Path body = data.resolve(name);
                if (!Files.exists(body)) {
                    Files.createLink(body, p);
                } else if (!DurableFiles.isSameFile(body, p)) {
                    log.warn("{}: slot {} holds a message whose data/ file is another file; data/ kept", name, file);
                }
                if (known.add(name)) {
                    Files.createLink(parts.states().dir(QueueState.INCOMING).resolve(name), p);
                    restored++;
                }
                Files.delete(p);
            } else if (DurableFiles.linkCount(p) != 1) {
                Files.delete(p); // its file is a message's under another name: not free
            } else if (parts.slots().hasRoom()) {
                parts.slots().offer(new SlotPool.Slot(p, Files.size(p)), true);
            } else {
                Files.delete(p);
            }
        }
        parts.applier().resumeAt(Math.max(maxSeq + 1, cp == Long.MAX_VALUE ? 0 : cp));
        return restored;
    }
}
