package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.testkit.history.OpKind;
import io.ringraft.testkit.kv.KvCommand;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A hand-built durable state for one node of a {@link SimCluster} to start from (see
 * {@link SimCluster.Builder#initialState}): its vote, its log, and a snapshot its log follows.
 * <pre>{@code
 * // Figure 7 style: node 3 voted for 1 in term 3 and holds entries of terms 1, 1, 2, 3 at indexes 1..4.
 * NodeState.builder().vote(3, 1).terms(1, 1, 2, 3).build()
 * }</pre>
 * The membership is the cluster's initial voters: it is the log's entry at index 1 when the log
 * starts there, else the snapshot's. Every other entry the builder makes from a term is a PUT of
 * key {@code "i<index>"} to value {@code "t<term>"}, so two nodes given the same term at the same
 * index hold the same entry (as log matching requires); {@link Builder#entry} adds any entry. The
 * invariant checker sees the entries appended, so hand-built logs that break log matching fail the
 * build. The whole state is durable (flushed) when the node starts.
 */
public final class NodeState
{
    private final Vote vote;
    private final List<long[]> terms;
    private final List<Entry> entries;
    private final LogId snapshot;
    private final Map<String, String> snapshotData;

    private NodeState(final Builder builder)
    {
        this.vote = builder.vote;
        this.terms = List.copyOf(builder.terms);
        this.entries = List.copyOf(builder.entries);
        this.snapshot = builder.snapshot;
        this.snapshotData = Map.copyOf(builder.snapshotData);
    }

    /** @return a builder of an empty state (no vote, no log, no snapshot) */
    public static Builder builder()
    {
        return new Builder();
    }

    /** @return the vote */
    public Vote vote()
    {
        return vote;
    }

    /** @return the last id the snapshot covers, or null if none */
    public LogId snapshot()
    {
        return snapshot;
    }

    /** @return the key-value content of the snapshot */
    public Map<String, String> snapshotData()
    {
        return snapshotData;
    }

    /**
     * @param membershipEntry the membership entry to put at index 1 when the log starts there
     * @return the log entries, in index order, right after the snapshot (or from index 1)
     */
    List<Entry> entries(final java.util.function.LongFunction<Entry> membershipEntry)
    {
        final List<Entry> log = new ArrayList<>();
        long index = snapshot == null ? 1 : snapshot.index() + 1;
        int explicit = 0;
        for (final long[] item : terms)
        {
            if (item[0] < 0)
            {
                log.add(entries.get(explicit++));
                index++;
                continue;
            }
            final long term = item[0];
            log.add(index == 1 ? membershipEntry.apply(term) : put(term, index));
            index++;
        }
        return log;
    }

    /**
     * @param term  a term
     * @param index an index
     * @return the entry the builder makes for that term at that index
     */
    public static Entry put(final long term, final long index)
    {
        return new Entry(term, index, io.ringraft.EntryType.NORMAL,
            new KvCommand(OpKind.PUT, 0, index, "i" + index, "t" + term, null).encode());
    }

    /** Builds a {@link NodeState}. */
    public static final class Builder
    {
        private final List<long[]> terms = new ArrayList<>();
        private final List<Entry> entries = new ArrayList<>();
        private final Map<String, String> snapshotData = new LinkedHashMap<>();
        private Vote vote = Vote.INITIAL;
        private LogId snapshot;

        private Builder()
        {
        }

        /**
         * @param term     the current term
         * @param votedFor the node voted for in it, or {@link Vote#NO_NODE}
         * @return this
         */
        public Builder vote(final long term, final long votedFor)
        {
            if (term < 0 || votedFor < 0)
            {
                throw new IllegalArgumentException("vote term and node must be >= 0: " + term + ", " + votedFor);
            }
            this.vote = new Vote(term, votedFor, false);
            return this;
        }

        /**
         * Appends an entry per term, at the next indexes.
         *
         * @param entryTerms the terms, never decreasing
         * @return this
         */
        public Builder terms(final long... entryTerms)
        {
            for (final long term : entryTerms)
            {
                if (term < 1)
                {
                    throw new IllegalArgumentException("an entry's term must be positive: " + term);
                }
                terms.add(new long[] {term});
            }
            return this;
        }

        /**
         * Appends an entry built by hand; its index must be the next one.
         *
         * @param entry the entry
         * @return this
         */
        public Builder entry(final Entry entry)
        {
            entries.add(entry);
            terms.add(new long[] {-1});
            return this;
        }

        /**
         * Starts the node from a snapshot (the log then continues after it).
         *
         * @param lastIncluded the last id the snapshot covers
         * @param data         its key-value content (at most {@code lastIncluded.index()} keys)
         * @return this
         */
        public Builder snapshot(final LogId lastIncluded, final Map<String, String> data)
        {
            if (!terms.isEmpty())
            {
                throw new IllegalStateException("give the snapshot before the log entries that follow it");
            }
            if (lastIncluded.index() < 1 || data.size() > lastIncluded.index())
            {
                throw new IllegalArgumentException("a snapshot must cover index 1 or more and hold at most that many keys: " +
                    lastIncluded + ", " + data.size() + " keys");
            }
            this.snapshot = lastIncluded;
            this.snapshotData.clear();
            this.snapshotData.putAll(data);
            return this;
        }

        /** @return the state */
        public NodeState build()
        {
            return new NodeState(this);
        }
    }
}
