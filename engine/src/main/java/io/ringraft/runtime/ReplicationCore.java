package io.ringraft.runtime;

import io.ringraft.Entry;
import io.ringraft.LogId;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.RaftLogStorage;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.ArrayList;
import java.util.List;

/**
 * The sending side of one peer, driven by {@link RaftCore}'s duty cycle: AppendEntries the
 * engine asked for are built from the log when they go out, and whatever the network refuses for
 * back-pressure waits in a bounded queue for a later duty cycle, never blocking {@code RaftCore}.
 * <p>
 * A peer that is not connected loses the message (the protocol retransmits); a full queue loses
 * the oldest queued append, never silently: both are counted.
 */
final class ReplicationCore
{
    private static final int MESSAGE = 1;
    private static final int REPLICATE = 2;

    private final long self;
    private final long peer;
    private final RaftNetwork network;
    private final RaftLogStorage storage;
    private final AtomicCounter retried;
    private final AtomicCounter dropped;

    // A ring of queued sends, preallocated.
    private final int[] kinds;
    private final RaftMessage[] messages;
    private final long[] terms;
    private final LogId[] prevs;
    private final long[] froms;
    private final long[] tos;
    private final long[] commits;
    private final long[] seqs;
    private int head;
    private int size;

    ReplicationCore(final long self, final long peer, final RaftNetwork network, final RaftLogStorage storage, final int capacity,
        final AtomicCounter retried, final AtomicCounter dropped)
    {
        this.self = self;
        this.peer = peer;
        this.network = network;
        this.storage = storage;
        this.retried = retried;
        this.dropped = dropped;
        kinds = new int[capacity];
        messages = new RaftMessage[capacity];
        terms = new long[capacity];
        prevs = new LogId[capacity];
        froms = new long[capacity];
        tos = new long[capacity];
        commits = new long[capacity];
        seqs = new long[capacity];
    }

    long peer()
    {
        return peer;
    }

    void send(final RaftMessage message)
    {
        if (size == 0 && trySend(message))
        {
            return;
        }
        final int slot = enqueueSlot();
        kinds[slot] = MESSAGE;
        messages[slot] = message;
    }

    void replicate(final long term, final LogId prev, final long from, final long to, final long commit, final long seq)
    {
        if (size == 0)
        {
            final RaftMessage append = buildAppend(term, prev, from, to, commit, seq);
            if (append == null || trySend(append))
            {
                return;
            }
        }
        final int slot = enqueueSlot();
        kinds[slot] = REPLICATE;
        terms[slot] = term;
        prevs[slot] = prev;
        froms[slot] = from;
        tos[slot] = to;
        commits[slot] = commit;
        seqs[slot] = seq;
    }

    /** Retries queued sends in order while the network takes them. */
    int doWork()
    {
        int work = 0;
        while (size > 0)
        {
            final int slot = head;
            final RaftMessage message = kinds[slot] == MESSAGE ? messages[slot] :
                buildAppend(terms[slot], prevs[slot], froms[slot], tos[slot], commits[slot], seqs[slot]);
            if (message != null && !trySend(message))
            {
                break;
            }
            messages[slot] = null;
            prevs[slot] = null;
            head = (head + 1) % kinds.length;
            size--;
            work++;
        }
        return work;
    }

    /** Forgets queued appends: this node no longer leads the term they belong to. */
    void clearAppends()
    {
        int kept = 0;
        for (int i = 0; i < size; i++)
        {
            final int from = (head + i) % kinds.length;
            if (kinds[from] == MESSAGE)
            {
                final int to = (head + kept) % kinds.length;
                kinds[to] = MESSAGE;
                messages[to] = messages[from];
                kept++;
            }
        }
        for (int i = kept; i < size; i++)
        {
            messages[(head + i) % kinds.length] = null;
        }
        size = kept;
    }

    int queued()
    {
        return size;
    }

    /** @return true if the message is gone (sent, or lost for good); false to retry later */
    private boolean trySend(final RaftMessage message)
    {
        final int result = network.send(message);
        if (result == RaftNetwork.SENT)
        {
            return true;
        }
        if (result == RaftNetwork.BACK_PRESSURED)
        {
            retried.increment();
            return false;
        }
        dropped.increment();
        return true;
    }

    private int enqueueSlot()
    {
        if (size == kinds.length)
        {
            // Full: lose the oldest; the engine's retransmission covers lost appends.
            dropped.increment();
            messages[head] = null;
            prevs[head] = null;
            head = (head + 1) % kinds.length;
            size--;
        }
        final int slot = (head + size) % kinds.length;
        size++;
        return slot;
    }

    private RaftMessage buildAppend(final long term, final LogId prev, final long from, final long to, final long commit, final long seq)
    {
        final List<Entry> entries;
        if (from >= to)
        {
            entries = List.of();
        }
        else
        {
            final LogId last = storage.lastLogId();
            if (from <= storage.lastPurgedLogId().index() || to - 1 > last.index())
            {
                dropped.increment();
                return null; // the log moved on (purged or truncated) since the engine asked
            }
            final ArrayList<Entry> list = new ArrayList<>((int)(to - from));
            for (long i = from; i < to; i++)
            {
                list.add(storage.entry(i));
            }
            entries = list;
        }
        return new AppendEntriesRequest(self, peer, term, prev, commit, seq, entries);
    }
}
