package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.storage.SnapshotMeta;

import java.util.ArrayList;
import java.util.List;

/** Records the engine's commands, in order, as values a test can compare. */
final class RecordingOutput implements EngineOutput
{
    record SaveVote(Vote vote) {}
    record Append(List<Entry> entries) {}
    record AppendClient(long term, long firstIndex, int count) {}
    record Truncate(long fromIndex) {}
    record Discard(long fromIndex) {}
    record Send(RaftMessage message) {}
    record Replicate(long peer, long term, LogId prevLogId, long fromIndex, long toIndexExclusive, long leaderCommit, long seq) {}
    record Apply(long fromIndex, long toIndex) {}
    record ReadReady(long readId, long readIndex) {}
    record ReadFailed(long readId, long leaderId) {}
    record RoleChanged(Role role, long term, long leaderId) {}
    record SnapshotChunk(long peer, long term, SnapshotMeta meta, long offset) {}
    record StoreChunk(InstallSnapshotRequest request) {}
    record InstallSnapshot(SnapshotMeta meta) {}
    record Purge(LogId upTo) {}
    record AdminResult(long requestId, int status, long index, long leaderId) {}
    record Dropped(InputDropReason reason) {}
    record Introduced(long node, long term, String endpoint) {}

    final List<Object> commands = new ArrayList<>();

    @Override
    public void saveVote(final Vote vote)
    {
        commands.add(new SaveVote(vote));
    }

    @Override
    public void appendEntries(final EntryBatch entries, final int from)
    {
        commands.add(new Append(entries.toList().subList(from, entries.size())));
    }

    @Override
    public void appendClientEntries(final long term, final long firstIndex, final int count)
    {
        commands.add(new AppendClient(term, firstIndex, count));
    }

    @Override
    public void truncateLog(final long fromIndex)
    {
        commands.add(new Truncate(fromIndex));
    }

    @Override
    public void discardLog(final long fromIndex)
    {
        commands.add(new Discard(fromIndex));
    }

    @Override
    public void send(final RaftMessage message)
    {
        commands.add(new Send(message.copy()));
    }

    @Override
    public void replicate(final long peer, final long term, final long prevLogTerm, final long prevLogIndex, final long fromIndex,
        final long toIndexExclusive, final long leaderCommit, final long seq)
    {
        commands.add(new Replicate(peer, term, new LogId(prevLogTerm, prevLogIndex), fromIndex, toIndexExclusive, leaderCommit, seq));
    }

    @Override
    public void apply(final long fromIndex, final long toIndex)
    {
        commands.add(new Apply(fromIndex, toIndex));
    }

    @Override
    public void readIndexReady(final long readId, final long readIndex)
    {
        commands.add(new ReadReady(readId, readIndex));
    }

    @Override
    public void readIndexFailed(final long readId, final long leaderId)
    {
        commands.add(new ReadFailed(readId, leaderId));
    }

    @Override
    public void roleChanged(final Role role, final long term, final long leaderId)
    {
        commands.add(new RoleChanged(role, term, leaderId));
    }

    @Override
    public void sendSnapshotChunk(final long peer, final long term, final SnapshotMeta meta, final long offset)
    {
        commands.add(new SnapshotChunk(peer, term, meta, offset));
    }

    @Override
    public void storeSnapshotChunk(final InstallSnapshotRequest request)
    {
        commands.add(new StoreChunk(request));
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta)
    {
        commands.add(new InstallSnapshot(meta));
    }

    @Override
    public void purgeLog(final LogId upTo)
    {
        commands.add(new Purge(upTo));
    }

    @Override
    public void inputDropped(final InputDropReason reason, final RaftMessage message)
    {
        commands.add(new Dropped(reason));
    }

    @Override
    public void introduced(final long node, final long term, final String endpoint)
    {
        commands.add(new Introduced(node, term, endpoint));
    }

    final List<String> adminMessages = new ArrayList<>();

    @Override
    public void adminResult(final long requestId, final int status, final long index, final long leaderId, final String message)
    {
        commands.add(new AdminResult(requestId, status, index, leaderId));
        adminMessages.add(message);
    }

    /** @return the commands recorded since the last call, and forgets them */
    List<Object> take()
    {
        final List<Object> taken = List.copyOf(commands);
        commands.clear();
        return taken;
    }

    /** @return the recorded commands of one type, and forgets all */
    <T> List<T> take(final Class<T> type)
    {
        final List<T> taken = new ArrayList<>();
        for (final Object c : commands)
        {
            if (type.isInstance(c))
            {
                taken.add(type.cast(c));
            }
        }
        commands.clear();
        return taken;
    }
}
