package io.ringraft.network;

import io.ringraft.Entry;
import io.ringraft.LogId;

import java.util.List;

/**
 * AppendEntries (Raft §5.3); with no entries it is a heartbeat.
 *
 * @param from         the leader
 * @param to           the follower
 * @param term         the leader's term
 * @param prevLogId    the entry just before {@code entries}, which the follower must hold
 * @param leaderCommit the leader's commit index
 * @param seq          the leader's broadcast round, echoed in the response; ReadIndex and
 *                     check-quorum use it to tell fresh acknowledgements from old ones
 * @param entries      the entries to append, contiguous after {@code prevLogId}
 */
public record AppendEntriesRequest(long from, long to, long term, LogId prevLogId, long leaderCommit, long seq, List<Entry> entries)
    implements RaftMessage
{
    /** @return the index of the last entry carried, or {@code prevLogId.index()} for a heartbeat */
    public long lastIndex()
    {
        return prevLogId.index() + entries.size();
    }
}
