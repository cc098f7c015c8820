package io.ringraft.engine;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.AdminResult;
import io.ringraft.engine.RecordingOutput.Send;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.ringraft.engine.EngineFixture.MS;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Leader transfer (Raft thesis §3.10). */
class TransferHandlerTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);
    private static final long TIMEOUT = 500 * MS;

    private static AppendEntriesResponse ack(final long from, final long match)
    {
        return new AppendEntriesResponse(from, 1, 2, true, match, 0, 0, 0);
    }

    @Test
    void leaderRefusesWritesBringsTargetUpToDateAndSendsTimeoutNow()
    {
        final EngineFixture f = leader(config(1), 2, THREE);
        f.engine.handle(ack(3, 2));
        f.out.take();
        f.engine.transferLeader(9, 2, TIMEOUT);
        assertEquals(Engine.TRANSFERRING, f.engine.clientWrite(1));
        assertEquals(List.of(), f.out.take(Send.class), "node 2 lacks entries");
        f.engine.handle(ack(2, 2));
        assertEquals(List.of(new Send(new TimeoutNow(1, 2, 2))), f.out.take(Send.class));
        f.engine.handle(new VoteRequest(2, 1, 3, f.engine.lastLogId(), false, true));
        assertEquals(Role.FOLLOWER, f.engine.role(), "the target's transfer election deposes the leader despite its lease");
        assertEquals(List.of(new AdminResult(9, AdminStatus.OK, 0, 2)), f.out.take(AdminResult.class));
    }

    @Test
    void transferThatTimesOutResumesWrites()
    {
        final EngineFixture f = leader(config(1), 2, THREE);
        f.engine.transferLeader(9, 3, TIMEOUT);
        f.engine.tick(f.engine.nowNanos + TIMEOUT);
        assertEquals(List.of(new AdminResult(9, AdminStatus.TIMED_OUT, 0, 1)), f.out.take(AdminResult.class));
        assertEquals(3, f.engine.clientWrite(1));
    }

    @Test
    void transferToUnknownNodeIsInvalid()
    {
        final EngineFixture f = leader(config(1), 2, THREE);
        f.engine.transferLeader(9, 7, TIMEOUT);
        assertEquals(List.of(new AdminResult(9, AdminStatus.INVALID, 0, Vote.NO_NODE)), f.out.take(AdminResult.class));
        assertEquals(Role.LEADER, f.engine.role());
    }

    @Test
    void transferToItselfIsDoneAtOnce()
    {
        final EngineFixture f = leader(config(1), 2, THREE);
        f.engine.transferLeader(9, 1, TIMEOUT);
        assertEquals(List.of(new AdminResult(9, AdminStatus.OK, 0, 1)), f.out.take(AdminResult.class));
    }

    @Test
    void lostTimeoutNowIsSentAgainWithTheNextHeartbeat()
    {
        final EngineFixture f = leader(config(1), 2, THREE);
        f.engine.handle(ack(2, 2));
        f.engine.transferLeader(9, 2, TIMEOUT);
        f.out.take();
        f.engine.tick(f.engine.nowNanos + EngineFixture.HEARTBEAT);
        assertEquals(List.of(new Send(new TimeoutNow(1, 2, 2))), f.out.take(Send.class));
    }
}
