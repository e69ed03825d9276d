OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
gate g(a,b) x,y { U(a*2+b^2,-pi/4,sin(a)) x; CX x,y; }
g(0.5,-(1)) q[0],q[1];
ccx q[0],q[1],q[2];
barrier q;
measure q -> c;
if (c==3) x q[0];
reset q[1];
