module gtopbench

go 1.19
