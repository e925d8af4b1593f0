import com.sun.tools.attach.VirtualMachine;

/**
 * Loads a JVMTI agent into a running JVM with its options intact ({@code jcmd <pid> JVMTI.agent_load} splits
 * them at the commas, which async-profiler's options need). Run from source: {@code java bench/Attach.java PID
 * /path/libasyncProfiler.so start,event=cpu,interval=1ms}. Used by bench/profile.sh.
 */
public class Attach {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: java Attach.java PID AGENT_LIBRARY OPTIONS");
            System.exit(2);
        }
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        try {
            vm.loadAgentPath(args[1], args[2]);
        } finally {
            vm.detach();
        }
    }
}
