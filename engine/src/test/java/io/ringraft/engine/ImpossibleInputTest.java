package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.Dropped;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.VoteRequest;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Messages no correct peer sends (forged, or corrupted past the transport's checks): each is
 * dropped and counted under its reason, changes nothing, and never throws.
 */
class ImpossibleInputTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);

    private static Entry e(final long term, final long index)
    {
        return new Entry(term, index, EntryType.NORMAL, new byte[]{(byte)index});
    }

    /** Entries in the batch layout, in any order: what a forger can put on the wire. */
    private static AppendEntriesRequest raw(final long from, final long term, final LogId prev, final long commit, final long... termIndex)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[termIndex.length / 2 * EntryBatch.encodedLength(1)]);
        int at = 0;
        for (int i = 0; i < termIndex.length; i += 2)
        {
            at += EntryBatch.write(buffer, at, termIndex[i], termIndex[i + 1], EntryType.NORMAL, new UnsafeBuffer(new byte[]{7}), 0, 1);
        }
        final AppendEntriesRequest request = new AppendEntriesRequest().set(from, 2, term, prev.term(), prev.index(), commit, 1);
        request.entries().wrap(buffer, 0, termIndex.length / 2, EntryBatch.ENTRY_HEADER_LENGTH);
        return request;
    }

    /** Node 2 follows leader 1 in term 5; log 1(t0) 2,3,4(t3) with 1..3 committed. */
    private static EngineFixture committedFollower()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 3, 3, 3);
        f.engine.handle(new AppendEntriesRequest(1, 2, 5, new LogId(3, 4), 3, 1, List.of()));
        assertEquals(3, f.engine.committedIndex());
        f.out.take();
        return f;
    }

    private static void assertDropped(final EngineFixture f, final InputDropReason reason, final RaftMessage message)
    {
        final Role role = f.engine.role();
        final Vote vote = f.engine.vote();
        final LogId last = f.engine.lastLogId();
        final long committed = f.engine.committedIndex();
        final long leader = f.engine.leaderId();
        final long before = f.engine.droppedInput(reason);
        f.engine.handle(message);
        assertEquals(List.of(new Dropped(reason)), f.out.take(), "dropped and reported, nothing else: " + message);
        assertEquals(before + 1, f.engine.droppedInput(reason), "counted under " + reason);
        assertEquals(role, f.engine.role());
        assertEquals(vote, f.engine.vote());
        assertEquals(last, f.engine.lastLogId());
        assertEquals(committed, f.engine.committedIndex());
        assertEquals(leader, f.engine.leaderId());
    }

    @Test
    void messageForAnotherNode()
    {
        final EngineFixture f = committedFollower();
        assertDropped(f, InputDropReason.NOT_ADDRESSED, new VoteRequest(3, 9, 6, new LogId(3, 4), false, false));
    }

    @Test
    void secondLeaderOfTheTermThisNodeLeads()
    {
        final EngineFixture f = leader(config(1), 3, THREE, 2, 2);
        final AppendEntriesRequest forged = new AppendEntriesRequest(2, 1, 3, new LogId(2, 3), 3, 1, List.of(e(3, 4)));
        // raw() addresses node 2; this one goes to the leader, node 1.
        assertDropped(f, InputDropReason.SECOND_LEADER, forged);
        assertEquals(Role.LEADER, f.engine.role(), "still leads");
        final SnapshotMeta meta = new SnapshotMeta(new LogId(3, 9), THREE, "s-3-9", 10, 0);
        assertDropped(f, InputDropReason.SECOND_LEADER, new InstallSnapshotRequest(2, 1, 3, meta, 0, new byte[10], true));
    }

    @Test
    void secondLeaderOfTheTermThisNodeFollows()
    {
        final EngineFixture f = committedFollower();
        assertDropped(f, InputDropReason.SECOND_LEADER, raw(3, 5, new LogId(3, 4), 4, 5, 5));
        assertEquals(1, f.engine.leaderId(), "still follows the leader it knows");
    }

    @Test
    void entriesNoLeaderSends()
    {
        final EngineFixture f = committedFollower();
        assertDropped(f, InputDropReason.ENTRIES_MALFORMED, raw(1, 5, new LogId(3, 4), 4, 6, 5), "an entry of a later term than the message's");
        assertDropped(f, InputDropReason.ENTRIES_MALFORMED, raw(1, 5, new LogId(3, 4), 4, 5, 5, 5, 7), "a gap");
        assertDropped(f, InputDropReason.ENTRIES_MALFORMED, raw(1, 5, new LogId(3, 4), 4, 5, 6), "not after the previous entry");
        assertDropped(f, InputDropReason.ENTRIES_MALFORMED, raw(1, 5, new LogId(3, 4), 4, 2, 5), "a term before the previous entry's");
        assertDropped(f, InputDropReason.ENTRIES_MALFORMED, raw(1, 5, new LogId(5, 4), 4, 5, 5, 4, 6), "terms going back");
        assertDropped(f, InputDropReason.ENTRIES_MALFORMED, raw(1, 5, new LogId(7, 4), 4), "a previous term after the message's");
    }

    private static void assertDropped(final EngineFixture f, final InputDropReason reason, final RaftMessage message, final String what)
    {
        try
        {
            assertDropped(f, reason, message);
        }
        catch (final AssertionError ex)
        {
            throw new AssertionError(what + ": " + ex.getMessage(), ex);
        }
    }

    @Test
    void entryWhoseChecksumDoesNotMatch()
    {
        final EngineFixture f = committedFollower();
        final AppendEntriesRequest request = raw(1, 5, new LogId(3, 4), 4, 5, 5, 5, 6);
        final UnsafeBuffer bytes = (UnsafeBuffer)request.entries().buffer();
        final int payload = request.entries().payloadOffset(1);
        bytes.putByte(payload, (byte)(bytes.getByte(payload) ^ 0x10)); // one bit flipped on the way
        assertDropped(f, InputDropReason.ENTRY_CHECKSUM, request, "a flipped payload bit");
        final AppendEntriesRequest termFlipped = raw(1, 7, new LogId(3, 4), 4, 5, 5);
        final UnsafeBuffer block = (UnsafeBuffer)termFlipped.entries().buffer();
        block.putByte(0, (byte)(block.getByte(0) ^ 0x02)); // term 5 read as 7: an entry that looks valid
        termFlipped.entries().wrap(block, 0, 1, EntryBatch.ENTRY_HEADER_LENGTH);
        assertEquals(7, termFlipped.entries().term(0));
        assertDropped(f, InputDropReason.ENTRY_CHECKSUM, termFlipped, "a flipped term bit (and the leader's term not adopted)");
    }

    @Test
    void truncationOfCommittedEntries()
    {
        // The leader it knows, whose entry 2 differs from the committed one.
        assertDropped(committedFollower(), InputDropReason.TRUNCATES_COMMITTED, raw(1, 5, new LogId(0, 1), 4, 5, 2));
        // A "leader" of a higher term: its term is adopted (Raft cannot tell it from a real one), its entries are not.
        final EngineFixture f = committedFollower();
        f.engine.handle(raw(3, 6, new LogId(3, 2), 3, 6, 3));
        final List<Object> out = f.out.take();
        assertEquals(new Dropped(InputDropReason.TRUNCATES_COMMITTED), out.get(out.size() - 1), out.toString());
        assertEquals(new LogId(3, 4), f.engine.lastLogId(), "nothing truncated");
        assertEquals(3, f.engine.committedIndex());
        assertEquals(1, f.engine.droppedInput(InputDropReason.TRUNCATES_COMMITTED));
    }

    @Test
    void snapshotsNoLeaderSends()
    {
        final EngineFixture f = committedFollower();
        final LogId at = new LogId(5, 9);
        assertDropped(f, InputDropReason.SNAPSHOT_MALFORMED,
            new InstallSnapshotRequest(1, 2, 5, new SnapshotMeta(at, THREE, "../../etc/passwd", 10, 0), 0, new byte[10], true), "a path as id");
        assertDropped(f, InputDropReason.SNAPSHOT_MALFORMED,
            new InstallSnapshotRequest(1, 2, 5, new SnapshotMeta(at, null, "s", 10, 0), 0, new byte[10], true), "no membership");
        assertDropped(f, InputDropReason.SNAPSHOT_MALFORMED,
            new InstallSnapshotRequest(1, 2, 5, new SnapshotMeta(at, THREE, "s", 10, 0), 4, new byte[7], true), "a chunk past the size");
        assertDropped(f, InputDropReason.SNAPSHOT_MALFORMED,
            new InstallSnapshotRequest(1, 2, 5, new SnapshotMeta(new LogId(6, 9), THREE, "s", 10, 0), 0, new byte[10], true),
            "a last entry of a later term than the message's");
        assertDropped(f, InputDropReason.SNAPSHOT_CONFLICTS_COMMITTED,
            new InstallSnapshotRequest(1, 2, 5, new SnapshotMeta(new LogId(4, 3), THREE, "s", 10, 0), 0, new byte[10], true),
            "ending on a committed index with another term");
    }

    @Test
    void responsesToRequestsNeverSent()
    {
        final EngineFixture f = leader(config(1), 3, THREE, 2, 2);
        final long last = f.engine.lastLogIndex();
        assertDropped(f, InputDropReason.UNSOLICITED_RESPONSE, new AppendEntriesResponse(2, 1, 3, true, last + 100, 0, 0, 0),
            "a match beyond the leader's log");
        assertDropped(f, InputDropReason.UNSOLICITED_RESPONSE, new AppendEntriesResponse(2, 1, 3, true, last, 0, 0, 1_000_000),
            "a heartbeat round not started");
        assertEquals(last, f.engine.lastLogIndex());
    }

    @Test
    void snapshotResponseBeyondTheSnapshot()
    {
        final EngineFixture f = leader(config(1).logRetainEntries(0), 3, THREE, 2, 2, 2, 2, 2);
        f.engine.handle(new AppendEntriesResponse(2, 1, 3, true, 7, 0, 0, 0));
        f.engine.onSnapshotBuilt(new SnapshotMeta(new LogId(2, 6), THREE, "snap-2-6", 300, 0x1234));
        // Node 3 needs purged entries: the leader starts sending it the snapshot.
        f.engine.handle(new AppendEntriesResponse(3, 1, 3, false, 7, 0, 2, 0));
        f.out.take();
        assertDropped(f, InputDropReason.UNSOLICITED_RESPONSE, new InstallSnapshotResponse(3, 1, 3, "snap-2-6", 301, false),
            "an offset past the snapshot");
    }
}
