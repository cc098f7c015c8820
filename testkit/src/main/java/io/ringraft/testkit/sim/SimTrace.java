package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.LogId;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;

import java.util.List;

/**
 * The simulator's event trace: a ring buffer of the last events, rendered as readable lines only
 * when asked (a failure report), and a digest over every event recorded since the start, which two
 * runs of one seed must agree on.
 */
public final class SimTrace
{
    private final long[] times;
    private final long[] nodes;
    private final String[] kinds;
    private final Object[] details;
    private long recorded;
    private long digest = 0x9E3779B97F4A7C15L;

    /**
     * @param capacity how many of the last events to keep for {@link #dump()}
     */
    public SimTrace(final int capacity)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("trace capacity must be positive: " + capacity);
        }
        times = new long[capacity];
        nodes = new long[capacity];
        kinds = new String[capacity];
        details = new Object[capacity];
    }

    /**
     * Records an event.
     *
     * @param time   the simulated time, in nanoseconds
     * @param node   the node it concerns, or 0
     * @param kind   a short constant naming the event
     * @param detail a message, a string or a number (rendered lazily), or null
     */
    public void record(final long time, final long node, final String kind, final Object detail)
    {
        final int slot = (int)(recorded % times.length);
        times[slot] = time;
        nodes[slot] = node;
        kinds[slot] = kind;
        details[slot] = detail;
        recorded++;
        long h = digest;
        h = mix(h, time);
        h = mix(h, node);
        h = mix(h, kind.hashCode());
        h = mix(h, digestOf(detail));
        digest = h;
    }

    /** @return how many events were recorded since the start */
    public long recorded()
    {
        return recorded;
    }

    /** @return a digest of every event recorded since the start, equal for equal runs */
    public long digest()
    {
        return digest;
    }

    /** @return the kept events, oldest first, one readable line each */
    public String dump()
    {
        final StringBuilder sb = new StringBuilder(times.length * 64);
        final long first = Math.max(0, recorded - times.length);
        for (long i = first; i < recorded; i++)
        {
            final int slot = (int)(i % times.length);
            sb.append(String.format("%10.3fms", times[slot] / 1e6)).append(' ');
            sb.append(nodes[slot] == 0 ? "  " : "N" + nodes[slot]).append(' ').append(kinds[slot]);
            if (details[slot] != null)
            {
                sb.append(' ').append(describe(details[slot]));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * @param detail a trace detail
     * @return a compact readable form; messages print their fields, entries by id
     */
    public static String describe(final Object detail)
    {
        if (detail instanceof AppendEntriesRequest m)
        {
            return "AE " + m.from() + "->" + m.to() + " t" + m.term() + " prev=" + m.prevLogId() + " n=" + m.entries().size() +
                (m.entries().isEmpty() ? "" : " [" + m.entries().get(0).logId() + ".." +
                m.entries().get(m.entries().size() - 1).logId() + "]") + " commit=" + m.leaderCommit() + " seq=" + m.seq();
        }
        if (detail instanceof AppendEntriesResponse m)
        {
            return "AE-resp " + m.from() + "->" + m.to() + " t" + m.term() + (m.success() ? " ok match=" + m.matchIndex() :
                " reject conflict=" + m.conflictTerm() + "/" + m.conflictIndex()) + " seq=" + m.seq();
        }
        if (detail instanceof VoteRequest m)
        {
            return (m.preVote() ? "PreVote " : "Vote ") + m.from() + "->" + m.to() + " t" + m.term() + " last=" + m.lastLogId() +
                (m.transfer() ? " transfer" : "");
        }
        if (detail instanceof VoteResponse m)
        {
            return (m.preVote() ? "PreVote-resp " : "Vote-resp ") + m.from() + "->" + m.to() + " t" + m.term() +
                (m.granted() ? " granted" : " refused");
        }
        if (detail instanceof TimeoutNow m)
        {
            return "TimeoutNow " + m.from() + "->" + m.to() + " t" + m.term();
        }
        if (detail instanceof Introduce m)
        {
            return "Introduce " + m.from() + "->" + m.to() + " t" + m.term() + " at " + m.endpoint();
        }
        if (detail instanceof InstallSnapshotRequest m)
        {
            return "InstallSnapshot " + m.from() + "->" + m.to() + " t" + m.term() + " " + m.meta().lastIncluded() + " off=" +
                m.offset() + " len=" + m.chunk().length + (m.done() ? " done" : "");
        }
        if (detail instanceof InstallSnapshotResponse m)
        {
            return "InstallSnapshot-resp " + m.from() + "->" + m.to() + " t" + m.term() + " next=" + m.nextOffset() +
                (m.done() ? " done" : "");
        }
        if (detail instanceof List<?> list)
        {
            if (list.isEmpty())
            {
                return "[]";
            }
            if (list.get(0) instanceof Entry first)
            {
                final Entry last = (Entry)list.get(list.size() - 1);
                return list.size() == 1 ? "[" + first.logId() + " " + first.type() + "]" :
                    "[" + first.logId() + ".." + last.logId() + "] (" + list.size() + ")";
            }
        }
        return String.valueOf(detail);
    }

    private static long digestOf(final Object detail)
    {
        if (detail == null)
        {
            return 0;
        }
        if (detail instanceof Long l)
        {
            return l;
        }
        if (detail instanceof String s)
        {
            return s.hashCode();
        }
        if (detail instanceof AppendEntriesRequest m)
        {
            long h = mix(mix(mix(1, m.from()), m.to()), m.term());
            h = mix(mix(h, digestOf(m.prevLogId())), m.leaderCommit());
            h = mix(mix(h, m.seq()), m.entries().size());
            for (int i = 0; i < m.entries().size(); i++)
            {
                h = mix(mix(h, m.entries().term(i)), m.entries().index(i));
            }
            return h;
        }
        if (detail instanceof AppendEntriesResponse m)
        {
            long h = mix(mix(mix(2, m.from()), m.to()), m.term());
            h = mix(mix(h, m.success() ? 1 : 0), m.matchIndex());
            return mix(mix(mix(h, m.conflictTerm()), m.conflictIndex()), m.seq());
        }
        if (detail instanceof VoteRequest m)
        {
            final long h = mix(mix(mix(3, m.from()), m.to()), m.term());
            return mix(mix(mix(h, digestOf(m.lastLogId())), m.preVote() ? 1 : 0), m.transfer() ? 1 : 0);
        }
        if (detail instanceof VoteResponse m)
        {
            final long h = mix(mix(mix(4, m.from()), m.to()), m.term());
            return mix(mix(h, m.granted() ? 1 : 0), m.preVote() ? 1 : 0);
        }
        if (detail instanceof LogId id)
        {
            return mix(mix(5, id.term()), id.index());
        }
        if (detail instanceof RaftMessage m)
        {
            return mix(mix(mix(6, m.from()), m.to()), m.term());
        }
        if (detail instanceof List<?> list)
        {
            long h = mix(7, list.size());
            for (final Object o : list)
            {
                h = mix(h, o instanceof Entry e ? mix(e.term(), e.index()) : digestOf(o));
            }
            return h;
        }
        return describe(detail).hashCode();
    }

    private static long mix(final long h, final long v)
    {
        long x = (h ^ v) * 0xBF58476D1CE4E5B9L;
        x ^= x >>> 31;
        return x * 0x94D049BB133111EBL + 0x632BE59BD9B4E019L;
    }
}
