package io.ringraft.engine;

import io.ringraft.storage.SnapshotMeta;

/**
 * What a leader knows of one follower's log (Raft Figure 2, "Volatile state on leaders"), plus
 * the flow control of the pipeline to it.
 * <p>
 * In {@code probing} mode one AppendEntries is in flight while the leader looks for the point
 * where the logs agree; once one succeeds the follower is {@code pipelining}: up to the window
 * of requests in flight, each sent optimistically after the previous one.
 */
final class Progress
{
    final long nodeId;
    /** The last index known to match on the follower and be durable there. */
    long matchIndex;
    /** The next index to send. */
    long nextIndex;
    boolean pipelining;
    /** The last broadcast round the follower answered, for ReadIndex. */
    long ackedSeq;
    /** When the follower last answered in this term. */
    long lastAckNanos;
    /** Sending a snapshot instead of entries: the follower needs purged ones. */
    boolean snapshotting;
    SnapshotMeta snapshotMeta;
    long snapshotOffset;
    long snapshotSentNanos;
    /** When the leader last sent the follower an introduction (see {@code ReplicationHandler#introduceIfSilent}). */
    long introducedNanos;

    // The in-flight requests: a ring of (last index carried, time sent).
    private final long[] inflightEnd;
    private final long[] inflightSentNanos;
    private int head;
    private int count;

    Progress(final long nodeId, final int window)
    {
        this.nodeId = nodeId;
        this.inflightEnd = new long[window];
        this.inflightSentNanos = new long[window];
    }

    void reset(final long nextIndex, final long nowNanos)
    {
        this.matchIndex = 0;
        this.nextIndex = nextIndex;
        this.pipelining = false;
        this.ackedSeq = 0;
        this.lastAckNanos = nowNanos;
        this.introducedNanos = nowNanos;
        this.snapshotting = false;
        this.snapshotMeta = null;
        clearInflight();
    }

    /** @return true if another request may be sent now */
    boolean canSend()
    {
        return pipelining ? count < inflightEnd.length : count == 0;
    }

    int inflight()
    {
        return count;
    }

    void addInflight(final long endIndex, final long nowNanos)
    {
        final int slot = (head + count) % inflightEnd.length;
        inflightEnd[slot] = endIndex;
        inflightSentNanos[slot] = nowNanos;
        count++;
    }

    /** Frees the requests that {@code matchIndex} acknowledges. */
    void ackInflight(final long ackedIndex)
    {
        while (count > 0 && inflightEnd[head] <= ackedIndex)
        {
            head = (head + 1) % inflightEnd.length;
            count--;
        }
    }

    /** @return when the oldest unacknowledged request was sent, or Long.MAX_VALUE if none */
    long oldestInflightSentNanos()
    {
        return count == 0 ? Long.MAX_VALUE : inflightSentNanos[head];
    }

    void clearInflight()
    {
        head = 0;
        count = 0;
    }

    @Override
    public String toString()
    {
        return "Progress{node=" + nodeId + " match=" + matchIndex + " next=" + nextIndex + (pipelining ? " pipelining" : " probing") +
            " inflight=" + count + "}";
    }
}
