module gtop/tools/genlayouts

go 1.19
