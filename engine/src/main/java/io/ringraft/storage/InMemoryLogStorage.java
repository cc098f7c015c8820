package io.ringraft.storage;

import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import org.agrona.BitUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;

import static io.ringraft.EntryBatch.ENTRY_HEADER_LENGTH;

/**
 * A {@link RaftLogStorage} in the heap: nothing survives the process. For tests, the simulator,
 * benchmarks and embedders whose durability comes from elsewhere. {@link #flush()} reports every
 * entry durable at once.
 * <p>
 * Entries are kept in {@link EntryBatch}'s layout (the layout AppendEntries carries) in the blocks
 * of an arena, with each entry's block and offset in a ring of primitive arrays indexed by log
 * index: a received batch is stored, and a batch for a follower is built, by copying spans.
 * Allocation-free in steady state: blocks freed by {@link #purgePrefix} and
 * {@link #truncateSuffix} are kept for reuse, so a log that snapshots purge regularly stops
 * allocating once it has reached its largest size (or at once, when sized up front); the ring
 * doubles when the log outgrows it.
 */
public class InMemoryLogStorage implements RaftLogStorage
{
    private static final int BLOCK_SIZE = 256 * 1024;
    private static final int INITIAL_CAPACITY = 1024;

    // The entry ring: entry i lives at slot (i & mask) while lastPurged < i <= lastIndex.
    private long[] blockSeqs;
    private int[] offsets;
    private int mask;

    // The arena: blocks.get(k) is block number firstBlockSeq + k; entries never straddle blocks,
    // and the entries of one block are consecutive and adjacent.
    private final ArrayList<UnsafeBuffer> blocks = new ArrayList<>();
    private final ArrayList<UnsafeBuffer> spareBlocks = new ArrayList<>();
    private long firstBlockSeq;
    private int blockPosition; // the free space in the last block starts here

    private Vote vote = Vote.INITIAL;
    private LogId lastPurged = LogId.ZERO;
    private long lastIndex;
    private long lastTerm;
    private LogId lastIdCache = LogId.ZERO;
    /** The log up to here is what the last flush made durable (and nothing truncated it since). */
    private long durableIndex;
    private long committed;
    private boolean closed;

    /** An empty log that grows as it needs. */
    public InMemoryLogStorage()
    {
        this(INITIAL_CAPACITY, 0);
    }

    /**
     * An empty log sized up front, so that it allocates nothing until it holds more: for
     * embedders that know how long their log gets between snapshots.
     *
     * @param entries      how many entries it holds before its index ring grows
     * @param payloadBytes how many payload bytes it holds before its arena grows
     * @throws IllegalArgumentException if either is negative
     */
    public InMemoryLogStorage(final int entries, final long payloadBytes)
    {
        if (entries < 0 || payloadBytes < 0)
        {
            throw new IllegalArgumentException("entries and payloadBytes must be >= 0: entries=" + entries + " payloadBytes=" +
                payloadBytes);
        }
        final int capacity = BitUtil.findNextPositivePowerOfTwo(Math.max(INITIAL_CAPACITY, entries));
        blockSeqs = new long[capacity];
        offsets = new int[capacity];
        mask = capacity - 1;
        final long arenaBytes = payloadBytes + (long)entries * ENTRY_HEADER_LENGTH;
        for (long bytes = 0; bytes < arenaBytes; bytes += BLOCK_SIZE)
        {
            spareBlocks.add(new UnsafeBuffer(new byte[BLOCK_SIZE]));
        }
    }

    @Override
    public Vote readVote()
    {
        ensureOpen();
        return vote;
    }

    @Override
    public void saveVote(final Vote vote)
    {
        ensureOpen();
        this.vote = vote;
    }

    @Override
    public LogId lastPurgedLogId()
    {
        return lastPurged;
    }

    @Override
    public long lastPurgedIndex()
    {
        return lastPurged.index();
    }

    @Override
    public LogId lastLogId()
    {
        LogId id = lastIdCache;
        if (id.index() != lastIndex || id.term() != lastTerm)
        {
            id = lastIndex == lastPurged.index() ? lastPurged : new LogId(lastTerm, lastIndex);
            lastIdCache = id;
        }
        return id;
    }

    @Override
    public long lastLogIndex()
    {
        return lastIndex;
    }

    @Override
    public void append(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset,
        final int length)
    {
        ensureOpen();
        RaftLogStorage.requireNext(lastTerm, lastIndex, term, index);
        ensureRing(index);
        final UnsafeBuffer block = blockWithRoom(ENTRY_HEADER_LENGTH + length);
        final int position = blockPosition;
        blockPosition += EntryBatch.write(block, position, term, index, type, payload, offset, length);
        record(index, position);
        lastIndex = index;
        lastTerm = term;
    }

    /** Copies the entries as spans, after checking every one, so that a bad batch changes nothing. */
    @Override
    public void append(final EntryBatch entries, final int from)
    {
        ensureOpen();
        if (entries.blockLength() != ENTRY_HEADER_LENGTH)
        {
            RaftLogStorage.super.append(entries, from); // another version's layout: entry by entry
            return;
        }
        final int n = entries.size();
        if (from >= n)
        {
            return;
        }
        long term = lastTerm;
        long index = lastIndex;
        if (entries.wellFormed())
        {
            // Consecutive, ordered terms, known types (checked when the batch was wrapped): the first must follow the log.
            RaftLogStorage.requireNext(term, index, entries.term(from), entries.index(from));
            term = entries.lastTerm();
            index = entries.index(n - 1);
        }
        else
        {
            for (int i = from; i < n; i++)
            {
                RaftLogStorage.requireNext(term, index, entries.term(i), entries.index(i));
                if (entries.type(i) == null)
                {
                    throw new IllegalArgumentException("entry " + entries.index(i) + " has a type this version does not know");
                }
                term = entries.term(i);
                index = entries.index(i);
            }
        }
        ensureRing(index);
        int i = from;
        while (i < n)
        {
            final UnsafeBuffer block = blockWithRoom(ENTRY_HEADER_LENGTH + entries.payloadLength(i));
            final int position = blockPosition;
            final int room = block.capacity() - position;
            int bytes = 0;
            int j = i;
            long entryIndex = entries.index(i);
            while (j < n)
            {
                final int size = entries.spanLength(j, j + 1);
                if (bytes + size > room)
                {
                    break;
                }
                record(entryIndex++, position + bytes);
                bytes += size;
                j++;
            }
            block.putBytes(position, entries.buffer(), entries.entryOffset(i), bytes);
            blockPosition = position + bytes;
            i = j;
        }
        lastTerm = term;
        lastIndex = index;
    }

    @Override
    public long flush()
    {
        ensureOpen();
        durableIndex = lastIndex;
        return lastIndex;
    }

    /** Kept like the vote: a node restarted on this log (kept open) learns the commit index it had seen. */
    @Override
    public void saveCommitted(final long commitIndex)
    {
        committed = commitIndex;
    }

    @Override
    public long readCommitted()
    {
        return committed;
    }

    /**
     * Test-only: simulates a crash of the process holding this log, for tests on real threads. The
     * log keeps its vote, its purge point and the entries up to the last index a {@link #flush()}
     * reported durable and that no truncation removed since; everything appended after is lost. A
     * closed log opens again, so a node can restart on it. Call it only while no node uses the log
     * (after closing the node, say).
     */
    public void crash()
    {
        closed = false;
        final long keep = Math.max(durableIndex, lastPurged.index());
        if (keep < lastIndex)
        {
            truncateSuffix(keep + 1);
        }
        durableIndex = lastIndex;
    }

    @Override
    public void truncateSuffix(final long fromIndex)
    {
        ensureOpen();
        if (fromIndex <= lastPurged.index())
        {
            throw new IllegalArgumentException("truncate from " + fromIndex + " reaches into the purged prefix (last purged " + lastPurged + ")");
        }
        if (fromIndex > lastIndex)
        {
            return;
        }
        lastIndex = fromIndex - 1;
        durableIndex = Math.min(durableIndex, lastIndex);
        if (lastIndex == lastPurged.index())
        {
            lastTerm = lastPurged.term();
            releaseBlocksAfter(firstBlockSeq - 1);
            blockPosition = 0;
        }
        else
        {
            final int slot = (int)lastIndex & mask;
            final UnsafeBuffer block = block(blockSeqs[slot]);
            final int offset = offsets[slot];
            lastTerm = EntryBatch.termAt(block, offset);
            releaseBlocksAfter(blockSeqs[slot]);
            blockPosition = offset + ENTRY_HEADER_LENGTH + EntryBatch.payloadLengthAt(block, offset);
        }
    }

    @Override
    public void purgePrefix(final LogId upTo)
    {
        ensureOpen();
        if (upTo.index() <= lastPurged.index())
        {
            return;
        }
        lastPurged = upTo;
        if (upTo.index() >= lastIndex)
        {
            lastIndex = upTo.index();
            lastTerm = upTo.term();
            while (!blocks.isEmpty())
            {
                release(blocks.remove(blocks.size() - 1));
            }
            firstBlockSeq = 0;
            blockPosition = 0;
            return;
        }
        final long keepFrom = blockSeqs[(int)(upTo.index() + 1) & mask];
        while (firstBlockSeq < keepFrom)
        {
            release(blocks.remove(0));
            firstBlockSeq++;
        }
    }

    @Override
    public int read(final long fromIndex, final long toIndexExclusive, final EntryReader reader)
    {
        ensureOpen();
        checkReadable(fromIndex);
        int count = 0;
        for (long i = fromIndex; i < toIndexExclusive && i <= lastIndex; i++)
        {
            final int slot = (int)i & mask;
            final UnsafeBuffer block = block(blockSeqs[slot]);
            final int offset = offsets[slot];
            count++;
            if (!reader.onEntry(EntryBatch.termAt(block, offset), i, EntryBatch.typeAt(block, offset), block,
                offset + ENTRY_HEADER_LENGTH, EntryBatch.payloadLengthAt(block, offset)))
            {
                break;
            }
        }
        return count;
    }

    /** Copies the entries as spans: those of one block are adjacent, in the batch's layout already. */
    @Override
    public int readEncoded(final long fromIndex, final long toIndexExclusive, final EntryBatch.Builder batch)
    {
        ensureOpen();
        checkReadable(fromIndex);
        final long end = Math.min(toIndexExclusive, lastIndex + 1);
        long i = fromIndex;
        while (i < end)
        {
            final int slot = (int)i & mask;
            final long seq = blockSeqs[slot];
            final UnsafeBuffer block = block(seq);
            final int start = offsets[slot];
            final int room = batch.room();
            final boolean firstOfBatch = batch.count() == 0;
            int bytes = 0;
            long j = i;
            while (j < end && blockSeqs[(int)j & mask] == seq)
            {
                final int size = ENTRY_HEADER_LENGTH + EntryBatch.payloadLengthAt(block, start + bytes);
                if (bytes + size > room && !(firstOfBatch && j == i))
                {
                    break;
                }
                bytes += size;
                j++;
            }
            if (j == i)
            {
                break; // the byte budget is spent
            }
            batch.appendEncoded(block, start, bytes, (int)(j - i));
            i = j;
        }
        return batch.count();
    }

    @Override
    public void close()
    {
        // The content stays, for a test that simulates a crash and restarts on it (see crash()).
        closed = true;
    }

    private void checkReadable(final long fromIndex)
    {
        final long first = lastPurged.index() + 1;
        if (fromIndex < first || fromIndex > lastIndex + 1)
        {
            throw new IllegalArgumentException("read from " + fromIndex + " outside the log " + first + ".." + lastIndex);
        }
    }

    private UnsafeBuffer block(final long seq)
    {
        return blocks.get((int)(seq - firstBlockSeq));
    }

    private void record(final long index, final int offset)
    {
        final int slot = (int)index & mask;
        blockSeqs[slot] = firstBlockSeq + blocks.size() - 1;
        offsets[slot] = offset;
    }

    /** @return the last block once it has {@code bytes} free, starting a new one when it has not */
    private UnsafeBuffer blockWithRoom(final int bytes)
    {
        if (!blocks.isEmpty())
        {
            final UnsafeBuffer last = blocks.get(blocks.size() - 1);
            if (last.capacity() - blockPosition >= bytes)
            {
                return last;
            }
        }
        UnsafeBuffer block = null;
        if (bytes <= BLOCK_SIZE && !spareBlocks.isEmpty())
        {
            block = spareBlocks.remove(spareBlocks.size() - 1);
        }
        if (block == null)
        {
            block = new UnsafeBuffer(new byte[Math.max(BLOCK_SIZE, bytes)]);
        }
        if (blocks.isEmpty())
        {
            firstBlockSeq = 0;
        }
        blocks.add(block);
        blockPosition = 0;
        return block;
    }

    /** Releases the blocks after block number {@code lastKept}. */
    private void releaseBlocksAfter(final long lastKept)
    {
        while (!blocks.isEmpty() && firstBlockSeq + blocks.size() - 1 > lastKept)
        {
            release(blocks.remove(blocks.size() - 1));
        }
    }

    private void release(final UnsafeBuffer block)
    {
        if (block.capacity() == BLOCK_SIZE)
        {
            spareBlocks.add(block);
        }
    }

    /** Makes room in the ring for every index up to {@code index}. */
    private void ensureRing(final long index)
    {
        while (index - lastPurged.index() > mask + 1L)
        {
            grow();
        }
    }

    /** Doubles the entry ring, moving every entry to its slot under the new mask. */
    private void grow()
    {
        final int capacity = (mask + 1) * 2;
        final int newMask = capacity - 1;
        final long[] newBlockSeqs = new long[capacity];
        final int[] newOffsets = new int[capacity];
        for (long i = lastPurged.index() + 1; i <= lastIndex; i++)
        {
            final int from = (int)i & mask;
            final int to = (int)i & newMask;
            newBlockSeqs[to] = blockSeqs[from];
            newOffsets[to] = offsets[from];
        }
        blockSeqs = newBlockSeqs;
        offsets = newOffsets;
        mask = newMask;
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("storage is closed");
        }
    }
}
