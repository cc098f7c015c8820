package io.ringraft.transport.aeron;

import org.agrona.collections.Long2ObjectHashMap;

/**
 * Refuses frames seen before: per sender, it remembers the highest sequence accepted in each of
 * the sender's live epochs (one by default; a sender's epoch grows with every restart, see
 * {@link SenderEpoch}) and accepts only a later sequence of a live epoch, or a new epoch above
 * every epoch it has let go. Aeron delivers a publication's frames in order and once, so every
 * genuine frame passes and every replay of a captured one fails.
 * <p>
 * With one live epoch per sender (the Raft transport: one process per node id), a new epoch
 * replaces the current one and every earlier epoch is refused from then on. With {@code n} live
 * epochs (clients: several processes may hold the same credentials, each with its own epoch), up
 * to {@code n} epochs of a sender are accepted side by side, each with its own sequence; when an
 * epoch beyond them arrives, the lowest is let go, and it and every epoch below it are refused
 * from then on. Every epoch ever accepted is thus either live (its sequences checked) or refused.
 * <p>
 * Call it only for frames whose MAC was verified, or a forger could advance the window. Senders
 * are keyed by id: {@link #remove} forgets one (a member removed), a new one starts fresh. It
 * remembers in memory only: after this node restarts, a captured frame of a sender's earlier
 * epoch passes until the sender's current epoch is seen; Raft tolerates such a duplicate of an
 * old message. Allocation-free for known senders and epochs. Not thread-safe: the receiving
 * thread's.
 */
public final class ReplayGuard
{
    /** {@link #check}: new; recorded. */
    public static final int ACCEPTED = 0;
    /** {@link #check}: a sequence of a live epoch not above the last accepted one. */
    public static final int REPLAYED = 1;
    /** {@link #check}: an epoch before the sender's live ones. */
    public static final int OLD_EPOCH = 2;

    private static final int FLOOR = 0;
    private static final int FIRST = 1;

    // Per sender: [floor, epoch 1, sequence 1, ..., epoch n, sequence n]; an unused slot's epoch is Long.MIN_VALUE.
    private final Long2ObjectHashMap<long[]> senders = new Long2ObjectHashMap<>();
    private final int epochsPerSender;

    /** A guard with one live epoch per sender. */
    public ReplayGuard()
    {
        this(1);
    }

    /**
     * @param epochsPerSender how many epochs of one sender are accepted side by side, {@code >= 1}
     */
    public ReplayGuard(final int epochsPerSender)
    {
        if (epochsPerSender < 1)
        {
            throw new IllegalArgumentException("epochsPerSender=" + epochsPerSender + " must be >= 1");
        }
        this.epochsPerSender = epochsPerSender;
    }

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
        if (epoch == Long.MIN_VALUE)
        {
            return OLD_EPOCH; // the mark of an unused slot, never a sender's epoch
        }
        long[] state = senders.get(sender);
        if (state == null)
        {
            state = new long[FIRST + 2 * epochsPerSender];
            java.util.Arrays.fill(state, Long.MIN_VALUE);
            state[FIRST] = epoch;
            state[FIRST + 1] = sequence;
            senders.put(sender, state);
            return ACCEPTED;
        }
        int free = -1;
        int lowest = -1;
        for (int i = FIRST; i < state.length; i += 2)
        {
            final long live = state[i];
            if (live == Long.MIN_VALUE)
            {
                free = free < 0 ? i : free;
            }
            else if (live == epoch)
            {
                if (sequence <= state[i + 1])
                {
                    return REPLAYED;
                }
                state[i + 1] = sequence;
                return ACCEPTED;
            }
            else if (lowest < 0 || live < state[lowest])
            {
                lowest = i;
            }
        }
        if (epoch <= state[FLOOR])
        {
            return OLD_EPOCH;
        }
        if (free < 0)
        {
            if (epoch < state[lowest])
            {
                return OLD_EPOCH;
            }
            state[FLOOR] = state[lowest];
            free = lowest;
        }
        state[free] = epoch;
        state[free + 1] = sequence;
        return ACCEPTED;
    }

    /** @param sender a sender to forget, e.g. a member removed from the cluster */
    public void remove(final long sender)
    {
        senders.remove(sender);
    }

    /** @return the highest live epoch of {@code sender}, or {@link Long#MIN_VALUE} if none */
    public long epoch(final long sender)
    {
        final long[] state = senders.get(sender);
        long highest = Long.MIN_VALUE;
        if (state != null)
        {
            for (int i = FIRST; i < state.length; i += 2)
            {
                highest = Math.max(highest, state[i]);
            }
        }
        return highest;
    }
}
