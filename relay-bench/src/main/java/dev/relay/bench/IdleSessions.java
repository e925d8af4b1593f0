package dev.relay.bench;

import java.io.*; import java.net.*; import javax.net.ssl.*; import java.security.cert.X509Certificate; import java.util.*;
/** Holds N STARTTLS sessions open and idle (benchmark only: trusts any certificate), then waits: for measuring the relay's RSS per idle TLS session. Usage: IdleSessions N PORT SECONDS */
public final class IdleSessions {
  public static void main(String[] a) throws Exception {
    int n = Integer.parseInt(a[0]); int port = Integer.parseInt(a[1]);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[]{new X509TrustManager(){public void checkClientTrusted(X509Certificate[] c,String s){} public void checkServerTrusted(X509Certificate[] c,String s){} public X509Certificate[] getAcceptedIssuers(){return new X509Certificate[0];}}}, null);
    List<Socket> held = new ArrayList<>(); long t0=System.nanoTime(); int fail=0;
    for (int i = 0; i < n; i++) {
      try {
        Socket s = new Socket(); s.connect(new InetSocketAddress("127.0.0.1", port), 10000); s.setSoTimeout(30000);
        BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream())); Writer w = new OutputStreamWriter(s.getOutputStream());
        r.readLine(); w.write("EHLO x\r\n"); w.flush(); String l; while ((l = r.readLine()) != null && l.charAt(3) == '-') {}
        w.write("STARTTLS\r\n"); w.flush(); r.readLine();
        SSLSocket t = (SSLSocket) ctx.getSocketFactory().createSocket(s, "127.0.0.1", port, true); t.startHandshake();
        held.add(t);
      } catch (Exception e) { fail++; if (fail < 3) System.err.println(e); }
    }
    System.out.println("held=" + held.size() + " failed=" + fail + " seconds=" + (System.nanoTime()-t0)/1e9);
    Thread.sleep(Long.parseLong(a[2]) * 1000);
  }
}
