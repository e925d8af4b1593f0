package dev.relay.core.routing;

import dev.relay.core.delivery.SevenBitCopy;
import dev.relay.core.model.Envelope;
import dev.relay.core.spool.Body;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a route sends when it changes the content, made from the spooled original (which is only read): the
 * rewritten copy ({@link HeaderRewriter}), then, if the route signs, the 7-bit conversion of an 8-bit message
 * and the {@code DKIM-Signature} field in front. The order is the point: the signature is over exactly what
 * is sent. Converting before signing (RFC 6376 section 5.3) means that no upstream without 8BITMIME converts,
 * and so breaks, a signed message; a message that cannot be converted is signed as it is, goes as it is to an
 * upstream with 8BITMIME and is refused (554 5.6.3) by one without, as an unsigned one would be.
 */
final class Outbound {
    private static final Logger LOG = LoggerFactory.getLogger(RoutingEngine.class);

    /** Signing failed: the message is deferred (never sent unsigned, never bounced for it). */
    static final class SigningFailed extends IOException {
        SigningFailed(String route, Exception cause) {
            super("DKIM signing for route " + route + " failed: " + cause); // no cause: the report shows this
        }
    }

    final Body body;
    private final List<Path> files;

    private Outbound(Body body, List<Path> files) {
        this.body = body;
        this.files = files;
    }

    /** Makes what {@code route} sends of {@code original}; its files go to {@code workDir} until {@link #delete}. */
    static Outbound prepare(Envelope envelope, Body original, Route route, Path workDir) throws IOException {
        List<Path> files = new ArrayList<>();
        try {
            Body body = original;
            if (route.rewrite().changesContent()) {
                Path copy = temp(envelope, workDir, files);
                HeaderRewriter.rewrite(body, copy, route.rewrite());
                body = Body.wholeFile(copy);
            }
            if (route.dkim() != null) {
                body = signed(envelope, body, route, workDir, files);
            }
            return new Outbound(body, files);
        } catch (IOException | RuntimeException e) {
            new Outbound(original, files).delete(envelope);
            throw e;
        }
    }

    private static Body signed(Envelope envelope, Body body, Route route, Path workDir, List<Path> files)
            throws IOException {
        Body toSign = body;
        if (SevenBitCopy.hasEightBit(body)) {
            Path seven = temp(envelope, workDir, files);
            String refusal = SevenBitCopy.write(body, seven);
            if (refusal == null) {
                toSign = Body.wholeFile(seven);
            } else {
                LOG.debug("{}: signed as it is: no conversion to 7 bit ({})", envelope.id(), refusal);
            }
        }
        try (InputStream in = toSign.open()) {
            return toSign.withPrefix(route.dkim().sign(in));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            throw new SigningFailed(route.name(), e);
        }
    }

    private static Path temp(Envelope envelope, Path workDir, List<Path> files) throws IOException {
        Files.createDirectories(workDir);
        Path file = Files.createTempFile(workDir, envelope.id() + ".", ".outbound");
        files.add(file);
        return file;
    }

    /** Removes the files made for this message (the spooled original is not among them). */
    void delete(Envelope envelope) {
        for (Path file : files) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("{}: cannot remove the outbound copy {}: {}", envelope.id(), file, e.toString());
            }
        }
    }
}
