package io.ringraft.engine;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.engine.RecordingOutput.Replicate;
import io.ringraft.network.AppendEntriesResponse;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.HEARTBEAT;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Log replication from the leader's side: Raft §5.3 (consistency check, back-off), pipelining and retransmission. */
class ReplicationHandlerTest
{
    private static final Membership TWO = Membership.of(1, 2);

    private static AppendEntriesResponse ok(final long term, final long match)
    {
        return new AppendEntriesResponse(2, 1, term, true, match, 0, 0, 0);
    }

    private static AppendEntriesResponse reject(final long term, final long rejectedPrev, final long conflictTerm, final long conflictIndex)
    {
        return new AppendEntriesResponse(2, 1, term, false, rejectedPrev, conflictTerm, conflictIndex, 0);
    }

    @Test
    void shortFollowerLogMovesNextIndexToItsEnd()
    {
        // Leader log: 1(t0) 2..6(t2) 7(t6 blank); the probe carried prev 6.
        final EngineFixture f = leader(config(1), 6, TWO, 2, 2, 2, 2, 2);
        f.engine.handle(reject(6, 6, 0, 3));
        assertEquals(List.of(new Replicate(2, 6, new LogId(2, 2), 3, 8, 0, 0)), f.out.take(Replicate.class));
    }

    @Test
    void conflictTermTheLeaderHoldsResumesAfterItsLastEntryOfThatTerm()
    {
        // Leader log: 1(t0) 2,3(t2) 4,5(t4) 6(t6 blank). The follower has term 4 at index 5 too but
        // diverges later; its hint says its entry at 5 is term 4 starting at 4.
        final EngineFixture f = leader(config(1), 6, TWO, 2, 2, 4, 4);
        f.engine.handle(reject(6, 5, 4, 4));
        // next = min(last index of term 4 + 1 = 6, rejected prev 5) = 5
        assertEquals(List.of(new Replicate(2, 6, new LogId(4, 4), 5, 7, 0, 0)), f.out.take(Replicate.class));
    }

    @Test
    void conflictTermTheLeaderLacksJumpsToTheFollowersFirstIndexOfIt()
    {
        // Leader log: 1(t0) 2,3(t2) 4,5(t5) 6(t6). The follower holds term 3 from index 4.
        final EngineFixture f = leader(config(1), 6, TWO, 2, 2, 5, 5);
        f.engine.handle(reject(6, 5, 3, 4));
        assertEquals(List.of(new Replicate(2, 6, new LogId(2, 3), 4, 7, 0, 0)), f.out.take(Replicate.class));
    }

    @Test
    void staleRejectIsIgnored()
    {
        final EngineFixture f = leader(config(1), 6, TWO, 2, 2);
        f.engine.handle(ok(6, 4));
        f.out.take();
        f.engine.handle(reject(6, 3, 2, 2));
        assertEquals(List.of(), f.out.take(Replicate.class));
        assertEquals(4, f.engine.matchIndex(2));
    }

    @Test
    void successSwitchesToPipeliningUpToTheWindow()
    {
        final EngineFixture f = leader(config(1).maxEntriesPerAppend(2).maxInflightAppends(3), 6, TWO);
        f.engine.handle(ok(6, 2));
        f.out.take();
        f.engine.clientWrite(10); // indexes 3..12
        assertEquals(List.of(
            new Replicate(2, 6, new LogId(6, 2), 3, 5, 2, 0),
            new Replicate(2, 6, new LogId(6, 4), 5, 7, 2, 0),
            new Replicate(2, 6, new LogId(6, 6), 7, 9, 2, 0)), f.out.take(Replicate.class), "three in flight, no more");
        f.engine.handle(ok(6, 4));
        assertEquals(List.of(new Replicate(2, 6, new LogId(6, 8), 9, 11, 2, 0)), f.out.take(Replicate.class), "one acknowledged, one more sent");
    }

    @Test
    void probeSendsOneRequestAtATime()
    {
        final EngineFixture f = leader(config(1), 6, TWO);
        f.engine.clientWrite(1);
        f.engine.clientWrite(1);
        assertEquals(List.of(), f.out.take(Replicate.class), "the first probe is unanswered");
    }

    @Test
    void unansweredRequestsAreResentAfterTwoHeartbeats()
    {
        final EngineFixture f = leader(config(1), 6, TWO);
        final long start = f.engine.nowNanos;
        f.engine.tick(start + HEARTBEAT);
        assertEquals(List.of(new Replicate(2, 6, new LogId(0, 0), 1, 1, 0, 1)), f.out.take(Replicate.class), "heartbeat only");
        f.engine.tick(start + 2 * HEARTBEAT);
        assertEquals(List.of(
            new Replicate(2, 6, new LogId(0, 0), 1, 1, 0, 2),
            new Replicate(2, 6, new LogId(0, 0), 1, 3, 0, 2)), f.out.take(Replicate.class), "heartbeat, then the probe again from the match");
    }

    @Test
    void higherTermResponseDeposesTheLeader()
    {
        final EngineFixture f = leader(config(1), 6, TWO);
        f.engine.handle(reject(9, 1, 0, 0));
        assertEquals(Role.FOLLOWER, f.engine.role());
        assertEquals(9, f.engine.currentTerm());
    }
}
