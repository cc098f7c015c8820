package io.ringraft.runtime;

import io.ringraft.EntryBatch;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.RaftStorageException;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.List;

/**
 * The sending side of one peer, driven by {@link RaftCore}'s duty cycle: AppendEntries the
 * engine asked for are built from the log when they go out, split to fit the network's largest
 * message, and whatever the network refuses for back-pressure waits in a bounded queue for a
 * later duty cycle, never blocking {@code RaftCore}.
 * <p>
 * Allocation-free in steady state: a batch is copied from the log into one reused buffer in the
 * encoded entry layout ({@link EntryBatch}) and sent through one reused request; a message that
 * must wait is copied ({@link RaftMessage#copy()}), since the engine reuses its messages.
 * <p>
 * A peer that is not connected loses the message (the protocol retransmits); a full queue loses
 * the oldest queued send, never silently: both are counted.
 */
final class ReplicationCore
{
    /**
     * Bytes an AppendEntries needs besides its entries (generous for any codec); each entry takes
     * {@link EntryBatch#ENTRY_HEADER_LENGTH} besides its payload, as every codec carries the batch's layout.
     */
    static final int APPEND_OVERHEAD = 160;
    private static final int MESSAGE = 1;
    private static final int REPLICATE = 2;

    private final long self;
    private final long peer;
    private final RaftNetwork network;
    private final RaftLogStorage storage;
    private final RaftSnapshotStore snapshots;
    private final int snapshotChunkSize;
    private final int maxMessageLength;
    private final AtomicCounter retried;
    private final AtomicCounter dropped;
    private SnapshotReader snapshotReader;

    // A ring of queued sends, preallocated.
    private final int[] kinds;
    private final RaftMessage[] messages;
    private final long[] terms;
    private final long[] prevTerms;
    private final long[] prevIndexes;
    private final long[] froms;
    private final long[] tos;
    private final long[] commits;
    private final long[] seqs;
    private int head;
    private int size;

    // The batch being sent for the queue's head: built once, retried as built when back-pressured.
    private final AppendEntriesRequest outgoing = new AppendEntriesRequest();
    private final EntryBatch.Builder batch = new EntryBatch.Builder(64 * 1024);
    private boolean built;
    private boolean borrowed;
    // The request the builder last built for, whose entries it holds until it builds again: a
    // sibling that wants the same range sends from it instead of copying the entries once more.
    private long builtFrom = -1;
    private long builtTo = -1;
    private final List<ReplicationCore> siblings;

    ReplicationCore(final long self, final long peer, final RaftNetwork network, final RaftLogStorage storage,
        final RaftSnapshotStore snapshots, final int snapshotChunkSize, final int capacity, final AtomicCounter retried,
        final AtomicCounter dropped, final List<ReplicationCore> siblings)
    {
        this.siblings = siblings;
        this.self = self;
        this.peer = peer;
        this.network = network;
        this.storage = storage;
        this.snapshots = snapshots;
        this.snapshotChunkSize = snapshotChunkSize;
        this.maxMessageLength = network.maxMessageLength();
        this.retried = retried;
        this.dropped = dropped;
        kinds = new int[capacity];
        messages = new RaftMessage[capacity];
        terms = new long[capacity];
        prevTerms = new long[capacity];
        prevIndexes = new long[capacity];
        froms = new long[capacity];
        tos = new long[capacity];
        commits = new long[capacity];
        seqs = new long[capacity];
    }

    long peer()
    {
        return peer;
    }

    /** Sends {@code message} now, or a copy of it once the network takes it. */
    void send(final RaftMessage message)
    {
        final boolean gone = size == 0 && trySend(message);
        if (!gone)
        {
            final boolean waiting = size > 0;
            final int slot = enqueueSlot();
            kinds[slot] = MESSAGE;
            messages[slot] = message.copy();
            if (waiting)
            {
                doWork();
            }
        }
    }

    void replicate(final long term, final long prevTerm, final long prevIndex, final long from, final long to, final long commit,
        final long seq)
    {
        final int slot = enqueueSlot();
        kinds[slot] = REPLICATE;
        messages[slot] = null;
        terms[slot] = term;
        prevTerms[slot] = prevTerm;
        prevIndexes[slot] = prevIndex;
        froms[slot] = from;
        tos[slot] = to;
        commits[slot] = commit;
        seqs[slot] = seq;
        doWork();
    }

    /**
     * Sends the chunk of {@code meta} at {@code offset}, read from the snapshot store (the reader
     * stays open for the next chunk). A snapshot that is gone is counted as dropped; the engine
     * starts over with its latest.
     */
    void sendSnapshotChunk(final long term, final SnapshotMeta meta, final long offset)
    {
        try
        {
            if (snapshotReader == null || !snapshotReader.meta().equals(meta))
            {
                closeSnapshotReader();
                snapshotReader = snapshots.open(meta);
            }
            final long room = (long)maxMessageLength - APPEND_OVERHEAD - 2L * meta.snapshotId().length() - meta.membership().encode().length;
            final long size = snapshotReader.size();
            final int length = (int)Math.max(0, Math.min(Math.min(snapshotChunkSize, room), size - offset));
            final byte[] chunk = new byte[length];
            final int read = length == 0 ? 0 : snapshotReader.read(offset, new UnsafeBuffer(chunk), 0, length);
            final byte[] exact = read == length ? chunk : java.util.Arrays.copyOf(chunk, read);
            send(new InstallSnapshotRequest(self, peer, term, meta, offset, exact, offset + read >= size));
        }
        catch (final RaftStorageException ex)
        {
            closeSnapshotReader();
            dropped.increment();
        }
    }

    /** Sends queued messages in order while the network takes them. */
    int doWork()
    {
        int work = 0;
        while (size > 0)
        {
            final int slot = head;
            final boolean gone = kinds[slot] == MESSAGE ? trySend(messages[slot]) : sendRange(slot);
            if (!gone)
            {
                break;
            }
            messages[slot] = null;
            head = (head + 1) % kinds.length;
            size--;
            work++;
        }
        return work;
    }

    /**
     * Sends the entries of a queued replicate request in as many messages as the network's size
     * limit needs; on back-pressure, remembers where it stopped.
     *
     * @return true once the whole range is sent (or lost for good)
     */
    private boolean sendRange(final int slot)
    {
        final long to = tos[slot];
        if (froms[slot] >= to)
        {
            outgoing.set(self, peer, terms[slot], prevTerms[slot], prevIndexes[slot], commits[slot], seqs[slot]).entries().clear();
            return trySend(outgoing);
        }
        while (froms[slot] < to)
        {
            final long from = froms[slot];
            if (from <= storage.lastPurgedIndex() || to - 1 > storage.lastLogIndex())
            {
                built = false;
                dropped.increment();
                return true; // the log moved on (purged or truncated) since the engine asked
            }
            if (!built)
            {
                outgoing.set(self, peer, terms[slot], prevTerms[slot], prevIndexes[slot], commits[slot], seqs[slot]);
                final ReplicationCore holder = holderOf(from, to);
                if (holder != null)
                {
                    holder.batch.wrapInto(outgoing.entries());
                    borrowed = holder != this;
                }
                else
                {
                    storage.readEncoded(from, to, batch.reset(maxMessageLength - APPEND_OVERHEAD));
                    builtFrom = from;
                    builtTo = to;
                    batch.wrapInto(outgoing.entries());
                    borrowed = false;
                }
                built = true;
            }
            if (!trySend(outgoing))
            {
                // A borrowed batch may be rebuilt by its owner before the next try: borrow again then.
                built = !borrowed;
                return false;
            }
            built = false;
            final EntryBatch sent = outgoing.entries();
            final int last = sent.size() - 1;
            prevTerms[slot] = sent.term(last);
            prevIndexes[slot] = sent.index(last);
            froms[slot] = prevIndexes[slot] + 1;
        }
        return true;
    }

    /** @return a peer's core (this one included) whose builder holds the batch for {@code [from, to)}, or null */
    private ReplicationCore holderOf(final long from, final long to)
    {
        for (int i = 0; i < siblings.size(); i++)
        {
            final ReplicationCore sibling = siblings.get(i);
            if (sibling.builtFrom == from && sibling.builtTo == to && sibling.maxMessageLength == maxMessageLength)
            {
                return sibling;
            }
        }
        return null;
    }

    /** Forgets the batch the builder holds: the log changed under it (truncation, snapshot, a new term). */
    void forgetBuilt()
    {
        builtFrom = -1;
        builtTo = -1;
        if (borrowed)
        {
            built = false;
        }
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
        built = false;
    }

    int queued()
    {
        return size;
    }

    void close()
    {
        closeSnapshotReader();
    }

    private void closeSnapshotReader()
    {
        if (snapshotReader != null)
        {
            snapshotReader.close();
            snapshotReader = null;
        }
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
            // Full: lose the oldest; the engine's retransmission covers lost messages.
            dropped.increment();
            messages[head] = null;
            built = false;
            head = (head + 1) % kinds.length;
            size--;
        }
        final int slot = (head + size) % kinds.length;
        size++;
        return slot;
    }
}
