package io.ringraft.runtime;

import io.ringraft.RaftException;
import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The linearizable reads of {@link RaftCore}: the reads of one ingress poll share one ReadIndex
 * round (one heartbeat quorum for the group), and a group whose read index is known waits here
 * until the apply ring can carry it behind the entries up to that index.
 */
final class ReadBatcher
{
    /** A group of reads whose read index is known. */
    record Ready(long index, List<CompletableFuture<Long>> futures)
    {
    }

    private final Long2ObjectHashMap<List<CompletableFuture<Long>>> groups = new Long2ObjectHashMap<>();
    private final ArrayDeque<Ready> ready = new ArrayDeque<>();
    private ArrayList<CompletableFuture<Long>> collecting;
    private long nextReadId;

    /** A read confirmed by the leader's lease: ready at {@code leaseIndex} without a round. */
    void addLeased(final CompletableFuture<Long> read, final long leaseIndex)
    {
        ready.addLast(new Ready(leaseIndex, List.of(read)));
    }

    /** A read that joins the group of this poll. */
    void add(final CompletableFuture<Long> read)
    {
        if (collecting == null)
        {
            collecting = new ArrayList<>();
        }
        collecting.add(read);
    }

    /** @return the id of the group collected since the last call, for one ReadIndex round, or 0 if none */
    long closeGroup()
    {
        if (collecting == null)
        {
            return 0;
        }
        final long readId = ++nextReadId;
        groups.put(readId, collecting);
        collecting = null;
        return readId;
    }

    /** The group's read index is confirmed. */
    void ready(final long readId, final long readIndex)
    {
        final List<CompletableFuture<Long>> group = groups.remove(readId);
        if (group != null)
        {
            ready.addLast(new Ready(readIndex, group));
        }
    }

    /** The group's round failed. */
    void failed(final long readId, final RaftException cause)
    {
        final List<CompletableFuture<Long>> group = groups.remove(readId);
        if (group != null)
        {
            group.forEach(f -> f.completeExceptionally(cause));
        }
    }

    /** @return the oldest ready group if its index is at most {@code publishedIndex}, else null; not removed */
    Ready peekReady(final long publishedIndex)
    {
        final Ready first = ready.peekFirst();
        return first != null && first.index() <= publishedIndex ? first : null;
    }

    /** Removes the group {@link #peekReady} returned. */
    void removeReady()
    {
        ready.pollFirst();
    }

    /** Fails every read this batcher holds. */
    void failAll(final RaftException cause)
    {
        if (collecting != null)
        {
            collecting.forEach(f -> f.completeExceptionally(cause));
            collecting = null;
        }
        groups.values().forEach(group -> group.forEach(f -> f.completeExceptionally(cause)));
        groups.clear();
        ready.forEach(r -> r.futures().forEach(f -> f.completeExceptionally(cause)));
        ready.clear();
    }
}
