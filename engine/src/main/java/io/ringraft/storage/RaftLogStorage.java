package io.ringraft.storage;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The Raft log and the vote: what a node must remember across restarts (Raft Figure 2,
 * "Persistent state on all servers").
 * <p>
 * One thread at a time uses an instance (the node's log writer); readers for replication use
 * {@link #read}. Entries are contiguous: the log holds every index from
 * {@code lastPurgedLogId().index() + 1} to {@code lastLogId().index()}.
 * <p>
 * Durability: {@link #append} may keep entries in memory or the page cache; {@link #flush()}
 * makes them as durable as the implementation's policy promises (or starts to) and returns the
 * last entry that is now durable. The engine acknowledges nothing beyond what {@code flush} returned.
 * {@link #saveVote} is durable when it returns. Everything present when the storage is opened
 * counts as durable.
 * <p>
 * Failures throw {@link RaftStorageException}; the node stops, since it can no longer keep its
 * promises.
 */
public interface RaftLogStorage extends AutoCloseable
{
    /** @return the last saved vote, or {@link Vote#INITIAL} for a new node */
    Vote readVote();

    /**
     * Saves the vote durably before returning.
     *
     * @param vote the vote to remember
     */
    void saveVote(Vote vote);

    /** @return the id of the last entry removed by {@link #purgePrefix}, or {@link LogId#ZERO} */
    LogId lastPurgedLogId();

    /** @return the id of the last entry, or {@link #lastPurgedLogId()} when the log is empty */
    LogId lastLogId();

    /**
     * @return {@code lastLogId().index()}, without making a {@link LogId}: the runtime asks on
     *         every duty cycle, so implementations should answer from a field
     */
    default long lastLogIndex()
    {
        return lastLogId().index();
    }

    /** @return {@code lastPurgedLogId().index()}, without making a {@link LogId} */
    default long lastPurgedIndex()
    {
        return lastPurgedLogId().index();
    }

    /**
     * Appends one entry at {@code lastLogId().index() + 1}.
     *
     * @param term    its term, {@code >=} the last entry's term
     * @param index   must be {@code lastLogId().index() + 1}
     * @param type    what it carries
     * @param payload the bytes to copy
     * @param offset  where they start in {@code payload}
     * @param length  how many
     * @throws IllegalArgumentException if the index is not the next one or the term goes backwards
     */
    void append(long term, long index, EntryType type, DirectBuffer payload, int offset, int length);

    /**
     * Appends {@code entries} from position {@code from} on, in order: what a follower received.
     * The default appends them one by one; a storage that keeps entries in {@link EntryBatch}'s
     * layout copies them as spans.
     *
     * @param entries consecutive entries, valid only during the call
     * @param from    the position of the first to append, whose index must be the next one
     * @throws IllegalArgumentException as {@link #append(long, long, EntryType, DirectBuffer, int, int)} does
     */
    default void append(final EntryBatch entries, final int from)
    {
        final DirectBuffer buffer = entries.buffer();
        for (int i = from, n = entries.size(); i < n; i++)
        {
            final EntryType type = entries.type(i);
            if (type == null)
            {
                throw new IllegalArgumentException("entry " + entries.index(i) + " has a type this version does not know");
            }
            append(entries.term(i), entries.index(i), type, buffer, entries.payloadOffset(i), entries.payloadLength(i));
        }
    }

    /**
     * Appends an entry in object form; see {@link #append(long, long, EntryType, DirectBuffer, int, int)}.
     *
     * @param entry the entry to append
     */
    default void append(final Entry entry)
    {
        final byte[] bytes = entry.payload();
        append(entry.term(), entry.index(), entry.type(), new UnsafeBuffer(bytes), 0, bytes.length);
    }

    /**
     * Makes all appended entries and truncations as durable as the policy promises, or starts
     * to: a storage may complete durability asynchronously (a sync on a thread of its own) and
     * report less, never waiting on the disk; asked again, it reports more as syncs complete,
     * and {@link #lastLogIndex()} once everything appended is durable.
     *
     * @return the index up to which the log as it now is (after any truncation) is durable, at
     *         most {@link #lastLogIndex()}; an index, not a {@link LogId}, so that a flush per duty
     *         cycle allocates nothing
     * @throws RaftStorageException if a sync failed, now or earlier on another thread
     */
    long flush();

    /**
     * Sets what the storage runs, on its own thread, each time durability advances without a {@link #flush()} call
     * (a sync on a thread of its own completed), so that a node whose duty cycle sleeps while idle hears of it at
     * once ({@code io.ringraft.YieldThenWaitIdleStrategy}): the engine passes the signal given to
     * {@code Raft#inputSignal}. A storage that is durable when {@code flush} returns need not call it; the default
     * ignores it.
     *
     * @param signal cheap, never throws; null for none
     */
    default void durabilitySignal(final Runnable signal)
    {
    }

    /**
     * How far the log is durable now, by syncs already completed, without starting or writing anything: what the next
     * {@link #flush()} would report at least. A node whose duty cycle sleeps while idle asks it just before it sleeps
     * (on its own thread, between duty cycles), so that a sync that completed after its last flush and before the
     * sleep ends the sleep rather than waiting out its timeout (the {@link #durabilitySignal} only ends a sleep in
     * progress). The default cannot tell and says {@code -1}.
     *
     * @return the index up to which the log is durable, or -1 if unknown
     */
    default long durableIndexNow()
    {
        return -1;
    }

    /**
     * Remembers the commit index this node knows, so that after a restart it can tell when its
     * state machine has caught up with what it had seen committed (local reads are refused
     * {@code NOT_READY} until then). Called by the log writer after a flush whenever the commit
     * index moved; it must be cheap (no sync of its own) and need not be durable beyond what the
     * implementation can do cheaply: the value read back after a restart may be older, never
     * newer than one saved. The default keeps nothing.
     *
     * @param commitIndex the commit index known now; never lower than one saved before
     */
    default void saveCommitted(final long commitIndex)
    {
    }

    /**
     * @return the last commit index {@link #saveCommitted} kept (possibly an older one after a
     *         crash), or 0 if the storage keeps none
     */
    default long readCommitted()
    {
        return 0;
    }

    /**
     * @return true if the log survives a restart of the process (it is kept in files); a node on
     *         a durable log needs a durable {@link RaftSnapshotStore}, since snapshots purge the
     *         log. The default is false (a log in memory)
     */
    default boolean isDurable()
    {
        return false;
    }

    /**
     * Removes the entries from {@code fromIndex} to the end: a follower's conflicting suffix.
     * A {@code fromIndex} beyond the last entry removes nothing.
     *
     * @param fromIndex the first index to remove, {@code > lastPurgedLogId().index()}
     */
    void truncateSuffix(long fromIndex);

    /**
     * Removes the entries up to and including {@code upTo}, which a snapshot now covers.
     * The storage remembers {@code upTo} as {@link #lastPurgedLogId()}; the log may be purged
     * beyond its last entry (after installing a snapshot), and is then empty from there on.
     *
     * @param upTo the last id to remove
     */
    void purgePrefix(LogId upTo);

    /**
     * Reads entries in index order from {@code fromIndex} while they are below {@code toIndexExclusive}
     * and the reader asks for more.
     *
     * @param fromIndex        the first index, {@code > lastPurgedLogId().index()}
     * @param toIndexExclusive one past the last index wanted
     * @param reader           receives each entry; the buffer is valid only during the call
     * @return how many entries were delivered
     * @throws IllegalArgumentException if {@code fromIndex} is purged or beyond the last entry + 1
     */
    int read(long fromIndex, long toIndexExclusive, EntryReader reader);

    /**
     * Reads entries from {@code fromIndex} into {@code batch} while they are below
     * {@code toIndexExclusive} and within its byte budget: how the leader builds an AppendEntries.
     * The default goes through {@link #read}; a storage that keeps entries in
     * {@link EntryBatch}'s layout copies them as spans.
     *
     * @return how many entries were taken
     * @throws IllegalArgumentException as {@link #read} does
     */
    default int readEncoded(final long fromIndex, final long toIndexExclusive, final EntryBatch.Builder batch)
    {
        read(fromIndex, toIndexExclusive, batch);
        return batch.count();
    }

    /**
     * Reads one entry in object form (allocates; for tests and slow paths).
     *
     * @param index the index, which must be present
     * @return the entry
     */
    default Entry entry(final long index)
    {
        final Entry[] holder = new Entry[1];
        read(index, index + 1, (term, idx, type, buffer, offset, length) ->
        {
            holder[0] = Entry.copyOf(term, idx, type, buffer, offset, length);
            return true;
        });
        if (holder[0] == null)
        {
            throw new IllegalArgumentException("no entry at index " + index + " (log is " + lastPurgedLogId() + ".." + lastLogId() + ")");
        }
        return holder[0];
    }

    /**
     * The rule every {@link #append} enforces: entries are contiguous and terms never go back.
     *
     * @param lastTerm  the term of the log's last entry
     * @param lastIndex the index of the log's last entry
     * @param term      the term of the entry to append
     * @param index     its index
     * @throws IllegalArgumentException if the entry does not follow the last one
     */
    static void requireNext(final long lastTerm, final long lastIndex, final long term, final long index)
    {
        if (index != lastIndex + 1)
        {
            throw new IllegalArgumentException("append at index " + index + " but the next index is " + (lastIndex + 1));
        }
        if (term < lastTerm)
        {
            throw new IllegalArgumentException("append of term " + term + " after term " + lastTerm + " at index " + index);
        }
    }

    /** Releases files and memory; the storage is unusable afterwards. */
    @Override
    void close();
}
