package io.ringraft.transport.aeron;

import org.agrona.collections.Long2LongHashMap;

/**
 * Refuses frames seen before: per sender, it remembers the highest (epoch, sequence) accepted and
 * accepts only a later sequence of the same epoch or any sequence of a later epoch (a sender's
 * epoch grows with every restart, see {@link SenderEpoch}). Aeron delivers a publication's frames
 * in order and once, so every genuine frame passes and every replay of a captured one fails.
 * <p>
 * Call it only for frames whose MAC was verified, or a forger could advance the window. Senders
 * are keyed by id: {@link #remove} forgets one (a member removed), a new one starts fresh. It
 * remembers in memory only: after this node restarts, a captured frame of a sender's earlier
 * epoch passes until the sender's current epoch is seen; Raft tolerates such a duplicate of an
 * old message. Allocation-free for known senders. Not thread-safe: the receiving thread's.
 */
public final class ReplayGuard
{
    /** {@link #check}: new; recorded. */
    public static final int ACCEPTED = 0;
    /** {@link #check}: a sequence of the current epoch not above the last accepted one. */
    public static final int REPLAYED = 1;
    /** {@link #check}: an epoch before the sender's current one. */
    public static final int OLD_EPOCH = 2;

    private final Long2LongHashMap epochs = new Long2LongHashMap(Long.MIN_VALUE);
    private final Long2LongHashMap sequences = new Long2LongHashMap(Long.MIN_VALUE);

    /**
     * Checks a frame and, if it is new, records it.
     *
     * @param sender   the sending node or client
     * @param epoch    the epoch in its trailer
     * @param sequence the sequence number in its trailer
     * @return {@link #ACCEPTED}, {@link #REPLAYED} or {@link #OLD_EPOCH}
     */
    public int check(final long sender, final long epoch, final long sequence)
    {
        final long current = epochs.get(sender);
        if (current != Long.MIN_VALUE)
        {
            if (epoch < current)
            {
                return OLD_EPOCH;
            }
            if (epoch == current && sequence <= sequences.get(sender))
            {
                return REPLAYED;
            }
        }
        if (epoch != current)
        {
            epochs.put(sender, epoch);
        }
        sequences.put(sender, sequence);
        return ACCEPTED;
    }

    /** @param sender a sender to forget, e.g. a member removed from the cluster */
    public void remove(final long sender)
    {
        epochs.remove(sender);
        sequences.remove(sender);
    }

    /** @return the epoch last accepted from {@code sender}, or {@link Long#MIN_VALUE} if none */
    public long epoch(final long sender)
    {
        return epochs.get(sender);
    }
}
