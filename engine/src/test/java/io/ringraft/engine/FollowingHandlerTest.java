package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.Append;
import io.ringraft.engine.RecordingOutput.Apply;
import io.ringraft.engine.RecordingOutput.RoleChanged;
import io.ringraft.engine.RecordingOutput.SaveVote;
import io.ringraft.engine.RecordingOutput.Send;
import io.ringraft.engine.RecordingOutput.Truncate;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** AppendEntries on the follower: Raft §5.3, Figure 2 "AppendEntries RPC, receiver implementation". */
class FollowingHandlerTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);

    private static Entry e(final long term, final long index)
    {
        return new Entry(term, index, EntryType.NORMAL, new byte[]{(byte)index});
    }

    private static AppendEntriesRequest append(final long term, final LogId prev, final long commit, final Entry... entries)
    {
        return new AppendEntriesRequest(1, 2, term, prev, commit, 3, List.of(entries));
    }

    private static Send reply(final long term, final boolean ok, final long match, final long conflictTerm, final long conflictIndex)
    {
        return new Send(new AppendEntriesResponse(2, 1, term, ok, match, conflictTerm, conflictIndex, 3));
    }

    @Test
    void staleLeaderIsToldTheNewerTerm()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 3, false), THREE, 5);
        f.engine.handle(append(4, new LogId(5, 2), 0));
        assertEquals(List.of(reply(5, false, 2, 0, 0)), f.out.take());
    }

    @Test
    void missingPreviousEntryIsRejectedWithTheLogEnd()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 5);
        f.engine.handle(append(5, new LogId(5, 7), 0));
        assertEquals(List.of(new RoleChanged(Role.FOLLOWER, 5, 1), reply(5, false, 7, 0, 3)), f.out.take());
    }

    @Test
    void mismatchingPreviousTermIsRejectedWithTheConflictTermHint()
    {
        // Follower: 1(t0) 2,3,4(t3). The leader's prev is (4, 4).
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 3, 3, 3);
        f.engine.handle(append(5, new LogId(4, 4), 0));
        assertEquals(List.of(new RoleChanged(Role.FOLLOWER, 5, 1), reply(5, false, 4, 3, 2)), f.out.take());
    }

    @Test
    void conflictingSuffixIsTruncatedAndReplaced()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 3, 3, 3);
        f.engine.handle(append(5, new LogId(3, 2), 0, e(3, 3), e(5, 4), e(5, 5)));
        assertEquals(List.of(new RoleChanged(Role.FOLLOWER, 5, 1), new Truncate(4), new Append(List.of(e(5, 4), e(5, 5))),
            reply(5, true, 3, 0, 0)), f.out.take(), "the durable matching prefix is acknowledged at once");
        assertEquals(new LogId(5, 5), f.engine.lastLogId());
        assertEquals(new LogId(3, 3), f.engine.flushedLogId(), "the truncated part is no longer durable");
    }

    @Test
    void entriesAlreadyPresentAreNeitherTruncatedNorAppended()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 3, 5);
        f.engine.handle(append(5, new LogId(0, 1), 0, e(3, 2)));
        assertEquals(List.of(new RoleChanged(Role.FOLLOWER, 5, 1), reply(5, true, 2, 0, 0)), f.out.take(),
            "acknowledges only what the request matched, not its own longer log");
    }

    @Test
    void appendEntriesWhoseEntriesDoNotFollowTheirPreviousEntryIsDropped()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 5);
        final LogId before = f.engine.lastLogId();
        f.engine.handle(append(5, new LogId(5, 2), 0, e(5, 4), e(5, 5)));
        assertEquals(List.of(new RecordingOutput.Dropped(InputDropReason.ENTRIES_MALFORMED)), f.out.take(),
            "no leader sends entries that skip index 3: nothing appended, nothing answered, the drop counted");
        assertEquals(before, f.engine.lastLogId());
        f.engine.handle(append(5, new LogId(5, 2), 0, e(5, 3)));
        assertEquals(List.of(new RoleChanged(Role.FOLLOWER, 5, 1), new Append(List.of(e(5, 3))), reply(5, true, 2, 0, 0)),
            f.out.take(), "a well-formed one that follows is taken");
    }

    @Test
    void acknowledgesOnlyOnceTheEntriesAreDurable()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 5);
        f.engine.handle(append(5, new LogId(5, 2), 0, e(5, 3), e(5, 4)));
        assertEquals(List.of(new RoleChanged(Role.FOLLOWER, 5, 1), new Append(List.of(e(5, 3), e(5, 4))), reply(5, true, 2, 0, 0)),
            f.out.take(), "only the matched prefix that is already durable");
        f.engine.onLogFlushed(3);
        assertEquals(List.of(reply(5, true, 3, 0, 0)), f.out.take(), "what is durable so far");
        f.engine.onLogFlushed(4);
        assertEquals(List.of(reply(5, true, 4, 0, 0)), f.out.take());
    }

    @Test
    void flushReportBelowAReplacedEntryAcknowledgesNothingNew()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 3);
        f.engine.handle(append(5, new LogId(3, 2), 0, e(3, 3)));
        f.engine.onLogFlushed(3);
        f.engine.handle(append(5, new LogId(3, 2), 0, e(5, 3)));
        f.out.take();
        // The storage made e(3,3) durable, but the log as it now is (with e(5,3)) only up to 2.
        f.engine.onLogFlushed(2);
        assertEquals(List.of(), f.out.take());
        assertEquals(new LogId(3, 2), f.engine.flushedLogId());
    }

    @Test
    void plantedBugAcknowledgesBeforeDurable()
    {
        final EngineFixture f = follower(config(2).plantedBug(PlantedBug.ACK_BEFORE_DURABLE), new Vote(5, 1, false), THREE, 5);
        f.engine.handle(append(5, new LogId(5, 2), 0, e(5, 3)));
        assertEquals(reply(5, true, 3, 0, 0), f.out.take().get(2));
    }

    @Test
    void commitFollowsLeaderUpToTheLastMatchedEntry()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 5, 5, 5);
        f.engine.handle(append(5, new LogId(5, 2), 9));
        assertEquals(List.of(new RoleChanged(Role.FOLLOWER, 5, 1), new Apply(1, 2), reply(5, true, 2, 0, 0)), f.out.take(),
            "the leader's commit 9 covers only the matched prefix 1..2 here");
        assertEquals(2, f.engine.committedIndex());
    }

    @Test
    void newerTermAdoptsTheLeader()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 3, false), THREE);
        f.engine.handle(append(7, new LogId(0, 1), 0));
        assertEquals(List.of(new SaveVote(new Vote(7, Vote.NO_NODE, false)), new RoleChanged(Role.FOLLOWER, 7, 1),
            reply(7, true, 1, 0, 0)), f.out.take());
        assertEquals(1, f.engine.leaderId());
    }

    @Test
    void candidateOfTheSameTermYieldsToTheLeader()
    {
        final EngineFixture f = follower(config(2).preVote(false), new Vote(4, Vote.NO_NODE, false), THREE);
        f.engine.triggerElection();
        f.out.take();
        f.engine.handle(append(5, new LogId(0, 1), 0));
        assertEquals(Role.FOLLOWER, f.engine.role());
        assertEquals(new Vote(5, 2, false), f.engine.vote(), "the vote of the term is kept");
    }

    @Test
    void refusesToTruncateCommittedEntries()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 3, 3);
        f.engine.handle(append(5, new LogId(3, 3), 3));
        assertEquals(3, f.engine.committedIndex());
        f.out.take();
        f.engine.handle(append(5, new LogId(0, 1), 3, e(4, 2)));
        assertEquals(List.of(new RecordingOutput.Dropped(InputDropReason.TRUNCATES_COMMITTED)), f.out.take(), "dropped, not thrown");
        assertEquals(new LogId(3, 3), f.engine.lastLogId());
        assertEquals(1, f.engine.droppedInput(InputDropReason.TRUNCATES_COMMITTED));
    }
}
