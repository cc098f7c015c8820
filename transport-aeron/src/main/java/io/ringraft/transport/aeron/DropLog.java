package io.ringraft.transport.aeron;

import org.agrona.DirectBuffer;

import java.util.function.Consumer;

/**
 * Log lines for the frames a node drops because of who sent them (wrong source, authentication,
 * replay), and for a key file it refused: the first of each reason at once, then at most one per
 * reason every {@link RateLimitedLog#INTERVAL_NANOS}, with the number not printed. Every drop is counted in
 * {@link TransportCounters} whether or not a line is printed. Junk that is not even a frame of
 * this cluster is counted only. The polling thread's.
 */
final class DropLog
{
    private static final DropReason[] REASONS = DropReason.values();

    private final RateLimitedLog log;

    DropLog(final Consumer<String> log)
    {
        this.log = new RateLimitedLog(log, REASONS.length + 1);
    }

    void onDropped(final DropReason reason, final long self, final long sender, final String source, final DirectBuffer buffer,
        final int offset, final int length, final KeyRing keys, final ReplayGuard replayGuard)
    {
        final String why;
        switch (reason)
        {
            case WRONG_SOURCE:
                why = "it came from " + source + ", which is not an address of node " + sender + "'s configured endpoint";
                break;
            case UNAUTHENTICATED:
                why = "it is not signed, and this node requires signed frames (" + keys.keys().source() +
                    "): the sender runs without a cluster key";
                break;
            case UNEXPECTED_AUTHENTICATION:
                why = "it is signed, and this node has no cluster key (no authKeyFile): the sender runs with one";
                break;
            case UNKNOWN_KEY:
                why = "it is signed with key id " + FrameAuthenticator.keyId(buffer, offset, length) + ", which " +
                    keys.keys().source() + " does not hold: a rotation step not made on this node yet, or another cluster's key";
                break;
            case BAD_MAC:
                why = "its MAC does not match under key id " + FrameAuthenticator.keyId(buffer, offset, length) + " of " +
                    keys.keys().source() + ": the sender holds a different key under that id, or the frame was forged or altered";
                break;
            case OLD_EPOCH:
                why = "it is of epoch " + FrameAuthenticator.epoch(buffer, offset, length) + ", before the sender's current epoch " +
                    replayGuard.epoch(sender) + ": a frame of an earlier run replayed, or the sender's clock was set back " +
                    "(give it an authEpochFile)";
                break;
            case REPLAYED:
                why = "its sequence number " + FrameAuthenticator.sequence(buffer, offset, length) + " of epoch " +
                    FrameAuthenticator.epoch(buffer, offset, length) + " was received already: a replay of a captured frame";
                break;
            default:
                return;
        }
        print(reason.ordinal(), "ringraft transport node " + self + ": dropped a frame claiming to come from node " + sender + " (source " +
            source + "): " + why + " (counter: frames dropped " + reason + ")");
    }

    void keyFileRefused(final long self, final String problem)
    {
        print(REASONS.length, "ringraft transport node " + self + ": the changed key file is refused, the keys in use stay: " + problem);
    }

    private void print(final int slot, final String line)
    {
        if (log.due(slot))
        {
            log.print(slot, line);
        }
    }
}
