package io.ringraft.nemesis;

import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** How the service's answers become typed outcomes, and the figures computed from a history. */
class OutcomeTest
{
    private static KvResponse answer(final int status, final String value)
    {
        return new KvResponse(status, 7, value == null ? null : value.getBytes(StandardCharsets.UTF_8), null, "10.0.0.1:9101", 0, 1);
    }

    @Test
    void writesAreOkFailedOrUnknown()
    {
        assertEquals(NemesisClient.Outcome.OK, KvNemesisClient.write(answer(KvProtocol.OK, null), null).outcome());
        final NemesisClient.Result refused = KvNemesisClient.write(answer(KvProtocol.CAS_FAILED, "x"), "false");
        assertEquals(NemesisClient.Outcome.OK, refused.outcome());
        assertEquals("false", refused.value(), "a refused CAS is an answer: it read another value");
        for (final int notWritten : new int[]{KvProtocol.NO_LEADER, KvProtocol.ABORTED, KvProtocol.BAD_REQUEST})
        {
            assertEquals(NemesisClient.Outcome.FAIL, KvNemesisClient.write(answer(notWritten, null), null).outcome(),
                KvProtocol.statusName(notWritten));
        }
        assertEquals(NemesisClient.Outcome.UNKNOWN, KvNemesisClient.write(answer(KvProtocol.UNKNOWN_OUTCOME, null), null).outcome());
        assertEquals(NemesisClient.Outcome.UNKNOWN, KvNemesisClient.write(answer(KvProtocol.NO_ANSWER, null), null).outcome());
    }

    @Test
    void readsAreOkWithTheirValueOrFailed()
    {
        assertEquals("v", KvNemesisClient.read(answer(KvProtocol.OK, "v")).value());
        final NemesisClient.Result absent = KvNemesisClient.read(answer(KvProtocol.NOT_FOUND, null));
        assertEquals(NemesisClient.Outcome.OK, absent.outcome());
        assertNull(absent.value());
        assertEquals(NemesisClient.Outcome.FAIL, KvNemesisClient.read(answer(KvProtocol.NO_ANSWER, null)).outcome(),
            "a read without an answer changed nothing");
    }

    @Test
    void longestGapCountsTheEdgesOfTheWindow()
    {
        final long[] acks = {5, 10, 12, 40, 41, 100};
        assertEquals(28, NemesisRun.longestGap(acks, 10, 45), "12 -> 40");
        assertEquals(59, NemesisRun.longestGap(acks, 41, 100), "41 -> end of the window at 100");
        assertEquals(30, NemesisRun.longestGap(new long[0], 0, 30), "no acknowledgement at all");
    }
}
