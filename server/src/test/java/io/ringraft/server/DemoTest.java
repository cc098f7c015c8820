package io.ringraft.server;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ringraft demo} in a short mode: the workload runs, the leader is killed and restarted, and the verification passes. */
class DemoTest
{
    @Test
    void inProcessDemoVerifies()
    {
        runDemo("--duration", "3s", "--plain");
    }

    @Test
    void oneProcessPerNodeWithSnapshotsDemoVerifies()
    {
        // Snapshots every 200 entries: the restarted node starts from its snapshot and the digests must still agree.
        runDemo("--duration", "3s", "--processes", "--durability", "NONE", "--window", "8", "--snapshot-every", "200", "--plain");
    }

    private static void runDemo(final String... flags)
    {
        final String[] args = new String[flags.length + 1];
        args[0] = "demo";
        System.arraycopy(flags, 0, args, 1, flags.length);
        final Cli.Result r = Cli.run(args);
        assertEquals(0, r.status(), r.toString());
        assertTrue(r.out().contains("\nPASS"), r.toString());
        assertTrue(r.out().contains("ok    every node applied the identical sequence"), r.toString());
        assertTrue(r.out().contains("ok    the killed leader was restarted and rejoined"), r.toString());
        final Matcher acked = Pattern.compile("ok    all ([\\d,]+) acknowledged writes are on every node").matcher(r.out());
        assertTrue(acked.find(), r.toString());
        assertTrue(Long.parseLong(acked.group(1).replace(",", "")) > 0, "some writes were acknowledged");
        final Matcher temp = Pattern.compile("Chronicle logs in (\\S+)").matcher(r.out());
        assertTrue(temp.find(), r.toString());
        assertFalse(new File(temp.group(1)).exists(), "temporary directory removed: " + temp.group(1));
        final String[] shm = new File("/dev/shm").list();
        final List<String> ours = shm == null ? List.of() :
            Arrays.stream(shm).filter(n -> n.matches("ringraft-aeron-\\d+-" + ProcessHandle.current().pid() + "-.*")).toList();
        assertEquals(List.of(), ours, "media driver directories of this JVM removed");
    }
}
