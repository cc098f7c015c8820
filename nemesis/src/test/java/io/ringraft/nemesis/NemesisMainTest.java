package io.ringraft.nemesis;

import io.ringraft.server.CliException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad flags get one line naming the flag and the value, and exit status 2. */
class NemesisMainTest
{
    private static String problem(final String... args)
    {
        final CliException ex = assertThrows(CliException.class, () -> NemesisMain.parse(args));
        assertEquals(CliException.USAGE, ex.exitStatus());
        assertTrue(ex.getMessage().lines().count() == 1, ex.getMessage());
        return ex.getMessage();
    }

    @Test
    void badFlagsAreNamedWithTheirValue()
    {
        assertTrue(problem("--faults", "kill,flood").contains("--faults flood"));
        assertTrue(problem("--duration", "5s").contains("--duration 5s is too short"));
        assertTrue(problem("--network", "wifi").contains("--network wifi"));
        assertTrue(problem("--cut-with", "iptables").contains("--cut-with iptables"));
        assertTrue(problem("--planted-bug", "TYPO").contains("--planted-bug TYPO"));
        assertTrue(problem("--fault-length", "9-3").contains("--fault-length 9-3"));
        assertTrue(problem("--nodes", "2").contains("nodes"));
        assertEquals(CliException.USAGE, NemesisMain.run(new String[]{"--faults", "flood"}));
    }

    @Test
    void defaultsAndReplayCommand()
    {
        final NemesisRun.Options o = NemesisMain.parse(new String[]{"--seed", "42", "--nodes", "5", "--faults", "partition,kill"});
        assertEquals(5, o.nodes());
        assertEquals(60_000, o.durationMs());
        assertEquals(2_000, o.faultMinMs());
        assertEquals("./ringraft nemesis --nodes 5 --duration 60.0s --seed 42 --faults kill,partition", o.replayCommand());
        assertEquals(java.util.EnumSet.allOf(FaultSchedule.Kind.class), NemesisMain.parse(new String[0]).faults(), "every fault by default");
        final NemesisRun.Options slow = NemesisMain.parse(new String[]{"--seed", "7", "--faults", "slow-disk,kill"});
        assertEquals(java.util.EnumSet.of(FaultSchedule.Kind.SLOW_DISK, FaultSchedule.Kind.KILL), slow.faults());
        assertEquals(slow.faults(), NemesisMain.parse(slow.replayCommand().replace("./ringraft nemesis ", "").split(" ")).faults(),
            "the replay command names it as the parser reads it");
    }
}
