package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.InstallSnapshot;
import io.ringraft.engine.RecordingOutput.Purge;
import io.ringraft.engine.RecordingOutput.Replicate;
import io.ringraft.engine.RecordingOutput.Send;
import io.ringraft.engine.RecordingOutput.SnapshotChunk;
import io.ringraft.engine.RecordingOutput.StoreChunk;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.storage.SnapshotMeta;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.HEARTBEAT;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Snapshots and log compaction: Raft §7. */
class SnapshotHandlerTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);

    private static SnapshotMeta meta(final long term, final long index)
    {
        return new SnapshotMeta(new LogId(term, index), THREE, "snap-" + term + "-" + index, 300, 0x1234);
    }

    private static AppendEntriesResponse ack(final long from, final long term, final long match)
    {
        return new AppendEntriesResponse(from, 1, term, true, match, 0, 0, 0);
    }

    /** A leader of term 3 whose log 1..7 is committed, with a snapshot at 6 and the log purged up to 6 - retain. */
    private static EngineFixture compactedLeader(final long retain)
    {
        final EngineFixture f = leader(config(1).logRetainEntries(retain), 3, THREE, 2, 2, 2, 2, 2);
        f.engine.handle(ack(2, 3, 7));
        f.engine.onSnapshotBuilt(meta(2, 6));
        return f;
    }

    @Test
    void snapshotPurgesTheLogBehindItKeepingTheTail()
    {
        final EngineFixture f = compactedLeader(2);
        assertEquals(List.of(new Purge(new LogId(2, 4))), f.out.take(Purge.class));
        assertEquals(new LogId(2, 4), f.engine.lastPurgedLogId());
        assertEquals(2, f.engine.termAt(5));
    }

    @Test
    void snapshotBeyondTheAppliedIndexIsRefused()
    {
        final EngineFixture f = leader(config(1), 3, THREE, 2, 2);
        assertThrows(IllegalArgumentException.class, () -> f.engine.onSnapshotBuilt(meta(2, 3)));
    }

    @Test
    void followerThatNeedsPurgedEntriesGetsTheSnapshotInChunksThenEntries()
    {
        final EngineFixture f = compactedLeader(0);
        f.out.take();
        // Node 3 has only the membership entry: its answer to the probe says "send from 2".
        f.engine.handle(new AppendEntriesResponse(3, 1, 3, false, 6, 0, 2, 0));
        assertEquals(List.of(new SnapshotChunk(3, 3, meta(2, 6), 0)), f.out.take(SnapshotChunk.class));
        f.engine.handle(new InstallSnapshotResponse(3, 1, 3, "snap-2-6", 128, false));
        assertEquals(List.of(new SnapshotChunk(3, 3, meta(2, 6), 128)), f.out.take(SnapshotChunk.class));
        f.engine.handle(new InstallSnapshotResponse(3, 1, 3, "snap-2-6", 128, false));
        assertEquals(List.of(), f.out.take(SnapshotChunk.class), "a repeated answer sends nothing new");
        f.engine.handle(new InstallSnapshotResponse(3, 1, 3, "snap-2-6", 300, true));
        assertEquals(6, f.engine.matchIndex(3));
        assertEquals(List.of(new Replicate(3, 3, new LogId(2, 6), 7, 8, 7, 0)), f.out.take(Replicate.class));
    }

    @Test
    void unansweredChunkIsResentWithAHeartbeat()
    {
        final EngineFixture f = compactedLeader(0);
        f.engine.handle(new AppendEntriesResponse(3, 1, 3, false, 6, 0, 2, 0));
        f.out.take();
        f.engine.tick(f.engine.nowNanos + 2 * HEARTBEAT);
        assertEquals(List.of(new SnapshotChunk(3, 3, meta(2, 6), 0)), f.out.take(SnapshotChunk.class));
    }

    @Test
    void followerStoresChunksAndInstallsTheCompleteSnapshot()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE, 1, 1);
        final InstallSnapshotRequest chunk = new InstallSnapshotRequest(1, 2, 3, meta(2, 6), 0, new byte[300], true);
        f.engine.handle(chunk);
        assertEquals(new StoreChunk(chunk), f.out.take().get(1));
        f.engine.onSnapshotChunkStored(1, meta(2, 6), 300, true);
        assertEquals(List.of(
            new RecordingOutput.Discard(1),
            new InstallSnapshot(meta(2, 6)),
            new Send(new InstallSnapshotResponse(2, 1, 3, "snap-2-6", 300, true))), f.out.take());
        assertEquals(new LogId(2, 6), f.engine.lastLogId());
        assertEquals(new LogId(2, 6), f.engine.lastPurgedLogId());
        assertEquals(6, f.engine.committedIndex());
        assertEquals(6, f.engine.appliedIndex());
        f.engine.handle(new AppendEntriesRequest(1, 2, 3, new LogId(2, 6), 7, 0, List.of(new Entry(3, 7, EntryType.NORMAL, new byte[1]))));
        assertEquals(7, f.engine.committedIndex(), "replication continues after the snapshot");
    }

    @Test
    void followerKeepsItsLogAfterTheSnapshotWhenItMatches()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE, 2, 2, 2, 2, 2, 2, 3);
        f.engine.handle(new InstallSnapshotRequest(1, 2, 3, meta(2, 6), 0, new byte[300], true));
        f.out.take();
        f.engine.onSnapshotChunkStored(1, meta(2, 6), 300, true);
        assertEquals(List.of(new InstallSnapshot(meta(2, 6)), new Send(new InstallSnapshotResponse(2, 1, 3, "snap-2-6", 300, true))),
            f.out.take());
        assertEquals(new LogId(3, 8), f.engine.lastLogId());
    }

    @Test
    void partialChunkIsAcknowledgedWithTheOffsetExpectedNext()
    {
        final EngineFixture f = follower(config(2), new Vote(3, 1, false), THREE);
        f.engine.handle(new InstallSnapshotRequest(1, 2, 3, meta(2, 6), 0, new byte[100], false));
        f.out.take();
        f.engine.onSnapshotChunkStored(1, meta(2, 6), 100, false);
        assertEquals(List.of(new Send(new InstallSnapshotResponse(2, 1, 3, "snap-2-6", 100, false))), f.out.take());
    }

    @Test
    void staleLeadersSnapshotIsRefusedWithTheNewerTerm()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 3, false), THREE);
        f.engine.handle(new InstallSnapshotRequest(1, 2, 3, meta(2, 6), 0, new byte[10], true));
        assertEquals(List.of(new Send(new InstallSnapshotResponse(2, 1, 5, "snap-2-6", 0, false))), f.out.take());
    }

    @Test
    void aSnapshotRebuiltAtTheSameIndexReplacesTheOneTheStoreNoLongerHas()
    {
        final EngineFixture f = compactedLeader(0);
        final SnapshotMeta rebuilt = new SnapshotMeta(new LogId(2, 6), THREE, "snap-rebuilt", 300, 0x99);
        f.engine.onSnapshotBuilt(rebuilt);
        f.out.take();
        f.engine.handle(new AppendEntriesResponse(3, 1, 3, false, 6, 0, 2, 0));
        assertEquals(List.of(new SnapshotChunk(3, 3, rebuilt, 0)), f.out.take(SnapshotChunk.class));
    }

    @Test
    void receivedSnapshotThatIsNotInstalledStillBecomesTheLatestToSend()
    {
        // The store keeps only its newest snapshot: one received and committed there replaces this
        // node's own even when the state machine is already past it.
        final EngineFixture f = leader(config(1).logRetainEntries(0), 3, THREE, 2, 2, 2, 2, 2);
        f.engine.handle(ack(2, 3, 7));
        f.engine.onSnapshotBuilt(meta(2, 5));
        final SnapshotMeta received = meta(2, 6);
        f.engine.handle(new AppendEntriesResponse(2, 1, 9, false, 0, 0, 0, 0)); // deposed
        f.engine.handle(new InstallSnapshotRequest(2, 1, 9, received, 0, new byte[300], true));
        f.engine.onSnapshotChunkStored(2, received, 300, true);
        assertEquals(received, f.engine.latestSnapshot());
        assertEquals(List.of(), f.out.take(InstallSnapshot.class), "applied past it: nothing to install");
    }
}
