module gtoptest

go 1.19
