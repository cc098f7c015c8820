package io.ringraft.runtime;

import io.ringraft.EntryType;
import io.ringraft.Membership;
import io.ringraft.WriteStatus;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.SnapshotMeta;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import org.agrona.DirectBuffer;

/**
 * {@link RaftCore}'s side of the apply ring, its only producer: committed entries read from the
 * log (with the caller to answer when the write came through this node), a received snapshot to
 * install, groups of reads behind the entries they must see, and requests to build a snapshot,
 * all in apply order. A full ring holds the rest back to a later duty cycle.
 */
final class ApplyPublisher implements EntryReader
{
    /** Answers a pending write that gets no response from the state machine. */
    interface Answerer
    {
        void answer(PendingWrites.Pending pending, int status);
    }

    private final RingBuffer<ApplyEvent> ring;
    private final RaftLogStorage storage;
    private final PendingWrites pending;
    private final Answerer answerer;
    private final PayloadBudget budget;
    private long applyTarget;
    private long publishedIndex;
    private long publishedBytes;
    // The slots claimed for the batch being published, and whether it stopped for the payload budget.
    private long claimFirst;
    private long claimLast;
    private boolean stoppedForBytes;
    private SnapshotMeta pendingInstall;

    ApplyPublisher(final RingBuffer<ApplyEvent> ring, final RaftLogStorage storage, final PendingWrites pending, final Answerer answerer,
        final PayloadBudget budget)
    {
        this.budget = budget;
        this.ring = ring;
        this.storage = storage;
        this.pending = pending;
        this.answerer = answerer;
    }

    /** The state machine has applied up to {@code appliedIndex} when the node starts. */
    void startAt(final long appliedIndex)
    {
        publishedIndex = appliedIndex;
        applyTarget = appliedIndex;
    }

    /** @return the last entry handed to the state machine (or covered by a snapshot handed to it) */
    long publishedIndex()
    {
        return publishedIndex;
    }

    /** @return the payload bytes of the entries published to the state machine since this node started */
    long publishedBytes()
    {
        return publishedBytes;
    }

    /** Entries up to {@code index} are committed: publish them. */
    void commitTo(final long index)
    {
        applyTarget = index;
    }

    /** A received snapshot replaces the state: publish it before any entry after it. */
    void install(final SnapshotMeta meta)
    {
        pendingInstall = meta;
        applyTarget = Math.max(applyTarget, meta.lastIncluded().index());
    }

    /** @return true while a received snapshot waits for room in the ring */
    boolean installing()
    {
        return pendingInstall != null;
    }

    /**
     * Publishes what is due: a snapshot to install, committed entries, reads whose index is applied.
     *
     * @return the work done
     */
    int publish(final ReadBatcher reads)
    {
        if (pendingInstall != null)
        {
            final long seq = tryClaim();
            if (seq < 0)
            {
                return 0;
            }
            final ApplyEvent event = ring.get(seq);
            event.type = ApplyEvent.INSTALL_SNAPSHOT;
            event.snapshot = pendingInstall;
            ring.publish(seq);
            publishedIndex = Math.max(publishedIndex, pendingInstall.lastIncluded().index());
            pendingInstall = null;
        }
        final long before = publishedIndex;
        final int count = (int)Math.min(applyTarget - publishedIndex, ring.remainingCapacity());
        if (count > 0)
        {
            // Fill slots from the log (room for all is known), publish them at once; a large
            // payload the budget cannot take yet waits for the state machine to free some.
            claimFirst = -1;
            stoppedForBytes = false;
            storage.read(publishedIndex + 1, publishedIndex + 1 + count, this);
            if (publishedIndex != before + count && !stoppedForBytes)
            {
                throw new IllegalStateException("log read " + (publishedIndex - before) + " of " + count + " committed entries from " +
                    (before + 1) + " (log " + storage.lastPurgedLogId() + ".." + storage.lastLogId() + ")");
            }
            if (claimFirst >= 0)
            {
                ring.publish(claimFirst, claimLast);
            }
        }
        int work = (int)(publishedIndex - before);
        ReadBatcher.Ready ready;
        while ((ready = reads.peekReady(publishedIndex)) != null)
        {
            final long seq = tryClaim();
            if (seq < 0)
            {
                break;
            }
            reads.removeReady();
            final ApplyEvent event = ring.get(seq);
            event.type = ApplyEvent.READS;
            event.reads = ready.futures();
            event.readIndex = ready.index();
            ring.publish(seq);
            work++;
        }
        return work;
    }

    /**
     * Asks the state machine to build a snapshot after the entries published so far.
     *
     * @return false if the ring is full (ask again later)
     */
    boolean requestSnapshot(final Membership membership)
    {
        final long seq = tryClaim();
        if (seq < 0)
        {
            return false;
        }
        final ApplyEvent event = ring.get(seq);
        event.type = ApplyEvent.BUILD_SNAPSHOT;
        event.membership = membership;
        ring.publish(seq);
        return true;
    }

    @Override
    public boolean onEntry(final long term, final long index, final EntryType type, final DirectBuffer buffer, final int offset,
        final int length)
    {
        if (!budget.tryReserve(length))
        {
            stoppedForBytes = true;
            return false; // not taken: published in a later duty cycle
        }
        final long seq = ring.next();
        if (claimFirst < 0)
        {
            claimFirst = seq;
        }
        claimLast = seq;
        final ApplyEvent event = ring.get(seq);
        event.type = ApplyEvent.ENTRY;
        event.index = index;
        event.term = term;
        event.normal = type == EntryType.NORMAL;
        event.payload.putBytes(0, buffer, offset, length);
        event.length = length;
        publishedBytes += length;
        final PendingWrites.Pending p = pending.remove(index);
        // The slot keeps its last handler (see ApplyEvent): a store only when it changes, or null (no GC card).
        if (p != null && p.term == term)
        {
            if (event.handler != p.handler)
            {
                event.handler = p.handler;
            }
            event.correlationId = p.correlationId;
        }
        else
        {
            event.handler = null;
            if (p != null)
            {
                answerer.answer(p, WriteStatus.ABORTED); // another leader's entry took its index
            }
        }
        publishedIndex = index;
        return true;
    }

    /** @return a claimed slot, or -1 if the ring is full */
    private long tryClaim()
    {
        try
        {
            return ring.tryNext();
        }
        catch (final InsufficientCapacityException ex)
        {
            return -1;
        }
    }
}
