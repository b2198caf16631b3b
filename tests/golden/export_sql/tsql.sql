WITH src AS (
  SELECT
    *
  FROM [crm].[accounts]
), points AS (
  SELECT
    [account_id] AS [account_id],
    CASE
      WHEN (
        CAST([employees] AS FLOAT) >= 50.0 AND CAST([employees] AS FLOAT) < 1000.0
      )
      AND (
        [industry] IN ('Software')
      )
      THEN 1
      ELSE 0
    END AS b_0,
    CASE
      WHEN (
        [region] IN ('EMEA')
      )
      AND (
        CHARINDEX(';Snowflake;', ';' + [tech_stack] + ';') > 0
      )
      THEN 1
      ELSE 0
    END AS b_1,
    CASE
      WHEN (
        CAST([employees] AS FLOAT) >= 1.0 AND CAST([employees] AS FLOAT) < 10.0
      )
      THEN 1
      ELSE 0
    END AS b_2,
    CASE WHEN (
      [ownership] IN ('Government', 'Non-profit')
    ) THEN 1 ELSE 0 END AS b_3,
    CASE
      WHEN (
        CHARINDEX(';Salesforce;', ';' + [tech_stack] + ';') > 0
      )
      THEN 1
      ELSE 0
    END AS b_4,
    CASE WHEN (
      [region] IN ('North America')
    ) THEN 1 ELSE 0 END AS b_5,
    CASE WHEN (
      CAST([annual_revenue] AS FLOAT) >= 10000000.0
    ) THEN 1 ELSE 0 END AS b_6,
    CASE
      WHEN CAST([employees] AS FLOAT) >= 50.0 AND CAST([employees] AS FLOAT) < 1000.0
      THEN 1
      ELSE 0
    END + CASE WHEN [industry] IN ('Software') THEN 1 ELSE 0 END AS c_0_n,
    CASE WHEN [region] IN ('EMEA') THEN 1 ELSE 0 END + CASE WHEN CHARINDEX(';Snowflake;', ';' + [tech_stack] + ';') > 0 THEN 1 ELSE 0 END AS c_1_n,
    CASE
      WHEN CASE
        WHEN CAST([employees] AS FLOAT) >= 1.0 AND CAST([employees] AS FLOAT) < 10.0
        THEN 1
        ELSE 0
      END = 1
      THEN 1
      ELSE 0
    END AS d_0,
    CASE
      WHEN CASE WHEN [ownership] IN ('Government', 'Non-profit') THEN 1 ELSE 0 END = 1
      THEN 1
      ELSE 0
    END AS d_1
  FROM src
), scored AS (
  SELECT
    [account_id] AS [account_id],
    37 + CASE b_0 WHEN 0 THEN 0 WHEN 1 THEN 30 END + CASE b_1 WHEN 0 THEN 0 WHEN 1 THEN 18 END + CASE b_2 WHEN 0 THEN 0 WHEN 1 THEN -22 END + CASE b_3 WHEN 0 THEN 0 WHEN 1 THEN -15 END + CASE b_4 WHEN 0 THEN 0 WHEN 1 THEN 7 END + CASE b_5 WHEN 0 THEN 0 WHEN 1 THEN 4 END + CASE b_6 WHEN 0 THEN 0 WHEN 1 THEN 4 END AS fit_score,
    CASE
      WHEN CASE WHEN c_0_n = 2 THEN 1 ELSE 0 END + CASE WHEN c_1_n = 2 THEN 1 ELSE 0 END > 0
      THEN 1
      ELSE 0
    END AS meets_criterion,
    CASE
      WHEN CASE WHEN c_0_n >= 1 THEN 1 ELSE 0 END + CASE WHEN c_1_n >= 1 THEN 1 ELSE 0 END > 0
      THEN 1
      ELSE 0
    END AS near_criterion,
    CASE WHEN d_0 + d_1 > 0 THEN 1 ELSE 0 END AS disqualified,
    CASE WHEN c_0_n = 2 THEN 1 ELSE 0 END AS c_0,
    CASE WHEN c_1_n = 2 THEN 1 ELSE 0 END AS c_1,
    d_0 AS d_0,
    d_1 AS d_1,
    b_0 AS b_0,
    b_1 AS b_1,
    b_2 AS b_2,
    b_3 AS b_3,
    b_4 AS b_4,
    b_5 AS b_5,
    b_6 AS b_6,
    CASE b_0 WHEN 0 THEN 0 WHEN 1 THEN 30 END AS p_0,
    CASE b_1 WHEN 0 THEN 0 WHEN 1 THEN 18 END AS p_1,
    CASE b_2 WHEN 0 THEN 0 WHEN 1 THEN -22 END AS p_2,
    CASE b_3 WHEN 0 THEN 0 WHEN 1 THEN -15 END AS p_3,
    CASE b_4 WHEN 0 THEN 0 WHEN 1 THEN 7 END AS p_4,
    CASE b_5 WHEN 0 THEN 0 WHEN 1 THEN 4 END AS p_5,
    CASE b_6 WHEN 0 THEN 0 WHEN 1 THEN 4 END AS p_6
  FROM points
), tiered AS (
  SELECT
    scored.*,
    CASE
      WHEN disqualified = 0 AND meets_criterion = 1 AND fit_score >= 60
      THEN 'Tier 1'
      WHEN disqualified = 0 AND near_criterion = 1 AND fit_score >= 45
      THEN 'Tier 2'
      WHEN disqualified = 0 AND fit_score >= 30
      THEN 'Tier 3'
      ELSE 'Non-fit'
    END AS tier,
    CASE
      WHEN CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) >= 100.0
      THEN 100
      WHEN CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) >= 60.0
      THEN CAST(FLOOR(
        CAST(0.375 AS FLOAT) * (
          CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) - 60.0
        ) + 85.0 + CAST(1e-09 AS FLOAT)
      ) AS INTEGER)
      WHEN CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) >= 45.0
      THEN CAST(FLOOR(
        CAST(1.0 AS FLOAT) * (
          CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) - 45.0
        ) + 70.0 + CAST(1e-09 AS FLOAT)
      ) AS INTEGER)
      WHEN CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) >= 30.0
      THEN CAST(FLOOR(
        CAST(1.3333333333333333 AS FLOAT) * (
          CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) - 30.0
        ) + 50.0 + CAST(1e-09 AS FLOAT)
      ) AS INTEGER)
      WHEN CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) >= 0.0
      THEN CAST(FLOOR(
        CAST(1.6666666666666667 AS FLOAT) * (
          CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END AS FLOAT) - 0.0
        ) + 0.0 + CAST(1e-09 AS FLOAT)
      ) AS INTEGER)
    END AS calibrated_score
  FROM scored
), ranked AS (
  SELECT
    tiered.*,
    1 + CASE WHEN p_1 > p_0 THEN 1 ELSE 0 END + CASE WHEN p_2 > p_0 THEN 1 ELSE 0 END + CASE WHEN p_3 > p_0 THEN 1 ELSE 0 END + CASE WHEN p_4 > p_0 THEN 1 ELSE 0 END + CASE WHEN p_5 > p_0 THEN 1 ELSE 0 END + CASE WHEN p_6 > p_0 THEN 1 ELSE 0 END AS r_0,
    1 + CASE WHEN p_0 >= p_1 THEN 1 ELSE 0 END + CASE WHEN p_2 > p_1 THEN 1 ELSE 0 END + CASE WHEN p_3 > p_1 THEN 1 ELSE 0 END + CASE WHEN p_4 > p_1 THEN 1 ELSE 0 END + CASE WHEN p_5 > p_1 THEN 1 ELSE 0 END + CASE WHEN p_6 > p_1 THEN 1 ELSE 0 END AS r_1,
    1 + CASE WHEN p_0 >= p_2 THEN 1 ELSE 0 END + CASE WHEN p_1 >= p_2 THEN 1 ELSE 0 END + CASE WHEN p_3 > p_2 THEN 1 ELSE 0 END + CASE WHEN p_4 > p_2 THEN 1 ELSE 0 END + CASE WHEN p_5 > p_2 THEN 1 ELSE 0 END + CASE WHEN p_6 > p_2 THEN 1 ELSE 0 END AS r_2,
    1 + CASE WHEN p_0 >= p_3 THEN 1 ELSE 0 END + CASE WHEN p_1 >= p_3 THEN 1 ELSE 0 END + CASE WHEN p_2 >= p_3 THEN 1 ELSE 0 END + CASE WHEN p_4 > p_3 THEN 1 ELSE 0 END + CASE WHEN p_5 > p_3 THEN 1 ELSE 0 END + CASE WHEN p_6 > p_3 THEN 1 ELSE 0 END AS r_3,
    1 + CASE WHEN p_0 >= p_4 THEN 1 ELSE 0 END + CASE WHEN p_1 >= p_4 THEN 1 ELSE 0 END + CASE WHEN p_2 >= p_4 THEN 1 ELSE 0 END + CASE WHEN p_3 >= p_4 THEN 1 ELSE 0 END + CASE WHEN p_5 > p_4 THEN 1 ELSE 0 END + CASE WHEN p_6 > p_4 THEN 1 ELSE 0 END AS r_4,
    1 + CASE WHEN p_0 >= p_5 THEN 1 ELSE 0 END + CASE WHEN p_1 >= p_5 THEN 1 ELSE 0 END + CASE WHEN p_2 >= p_5 THEN 1 ELSE 0 END + CASE WHEN p_3 >= p_5 THEN 1 ELSE 0 END + CASE WHEN p_4 >= p_5 THEN 1 ELSE 0 END + CASE WHEN p_6 > p_5 THEN 1 ELSE 0 END AS r_5,
    1 + CASE WHEN p_0 >= p_6 THEN 1 ELSE 0 END + CASE WHEN p_1 >= p_6 THEN 1 ELSE 0 END + CASE WHEN p_2 >= p_6 THEN 1 ELSE 0 END + CASE WHEN p_3 >= p_6 THEN 1 ELSE 0 END + CASE WHEN p_4 >= p_6 THEN 1 ELSE 0 END + CASE WHEN p_5 >= p_6 THEN 1 ELSE 0 END AS r_6,
    1 + CASE WHEN p_1 < p_0 THEN 1 ELSE 0 END + CASE WHEN p_2 < p_0 THEN 1 ELSE 0 END + CASE WHEN p_3 < p_0 THEN 1 ELSE 0 END + CASE WHEN p_4 < p_0 THEN 1 ELSE 0 END + CASE WHEN p_5 < p_0 THEN 1 ELSE 0 END + CASE WHEN p_6 < p_0 THEN 1 ELSE 0 END AS a_0,
    1 + CASE WHEN p_0 <= p_1 THEN 1 ELSE 0 END + CASE WHEN p_2 < p_1 THEN 1 ELSE 0 END + CASE WHEN p_3 < p_1 THEN 1 ELSE 0 END + CASE WHEN p_4 < p_1 THEN 1 ELSE 0 END + CASE WHEN p_5 < p_1 THEN 1 ELSE 0 END + CASE WHEN p_6 < p_1 THEN 1 ELSE 0 END AS a_1,
    1 + CASE WHEN p_0 <= p_2 THEN 1 ELSE 0 END + CASE WHEN p_1 <= p_2 THEN 1 ELSE 0 END + CASE WHEN p_3 < p_2 THEN 1 ELSE 0 END + CASE WHEN p_4 < p_2 THEN 1 ELSE 0 END + CASE WHEN p_5 < p_2 THEN 1 ELSE 0 END + CASE WHEN p_6 < p_2 THEN 1 ELSE 0 END AS a_2,
    1 + CASE WHEN p_0 <= p_3 THEN 1 ELSE 0 END + CASE WHEN p_1 <= p_3 THEN 1 ELSE 0 END + CASE WHEN p_2 <= p_3 THEN 1 ELSE 0 END + CASE WHEN p_4 < p_3 THEN 1 ELSE 0 END + CASE WHEN p_5 < p_3 THEN 1 ELSE 0 END + CASE WHEN p_6 < p_3 THEN 1 ELSE 0 END AS a_3,
    1 + CASE WHEN p_0 <= p_4 THEN 1 ELSE 0 END + CASE WHEN p_1 <= p_4 THEN 1 ELSE 0 END + CASE WHEN p_2 <= p_4 THEN 1 ELSE 0 END + CASE WHEN p_3 <= p_4 THEN 1 ELSE 0 END + CASE WHEN p_5 < p_4 THEN 1 ELSE 0 END + CASE WHEN p_6 < p_4 THEN 1 ELSE 0 END AS a_4,
    1 + CASE WHEN p_0 <= p_5 THEN 1 ELSE 0 END + CASE WHEN p_1 <= p_5 THEN 1 ELSE 0 END + CASE WHEN p_2 <= p_5 THEN 1 ELSE 0 END + CASE WHEN p_3 <= p_5 THEN 1 ELSE 0 END + CASE WHEN p_4 <= p_5 THEN 1 ELSE 0 END + CASE WHEN p_6 < p_5 THEN 1 ELSE 0 END AS a_5,
    1 + CASE WHEN p_0 <= p_6 THEN 1 ELSE 0 END + CASE WHEN p_1 <= p_6 THEN 1 ELSE 0 END + CASE WHEN p_2 <= p_6 THEN 1 ELSE 0 END + CASE WHEN p_3 <= p_6 THEN 1 ELSE 0 END + CASE WHEN p_4 <= p_6 THEN 1 ELSE 0 END + CASE WHEN p_5 <= p_6 THEN 1 ELSE 0 END AS a_6
  FROM tiered
)
SELECT
  [account_id],
  fit_score,
  tier,
  CAST(NULL AS FLOAT) AS fit_probability,
  SUBSTRING(
    CASE
      WHEN c_0 = 1
      THEN '; employees in [50, 1000) AND industry = ''Software'''
      ELSE ''
    END + CASE
      WHEN c_1 = 1
      THEN '; region = ''EMEA'' AND tech_stack contains ''Snowflake'''
      ELSE ''
    END,
    3,
    100000
  ) AS criteria_met,
  SUBSTRING(
    CASE WHEN d_0 = 1 THEN '; employees in [1, 10)' ELSE '' END + CASE WHEN d_1 = 1 THEN '; ownership in (''Government'', ''Non-profit'')' ELSE '' END,
    3,
    100000
  ) AS disqualifiers_hit,
  SUBSTRING(
    CASE
      WHEN p_0 > 0 AND r_0 = 1
      THEN CASE b_0
        WHEN 1
        THEN '; meets ICP criterion: 50–1,000 employees and Software company (+30)'
        ELSE ''
      END
      WHEN p_1 > 0 AND r_1 = 1
      THEN CASE b_1
        WHEN 1
        THEN '; meets ICP criterion: based in EMEA and uses Snowflake (+18)'
        ELSE ''
      END
      WHEN p_4 > 0 AND r_4 = 1
      THEN CASE b_4 WHEN 1 THEN '; uses Salesforce (+7)' ELSE '' END
      WHEN p_5 > 0 AND r_5 = 1
      THEN CASE b_5 WHEN 1 THEN '; based in North America (+4)' ELSE '' END
      WHEN p_6 > 0 AND r_6 = 1
      THEN CASE b_6 WHEN 1 THEN '; 10M+ in annual revenue (+4)' ELSE '' END
      ELSE ''
    END + CASE
      WHEN p_0 > 0 AND r_0 = 2
      THEN CASE b_0
        WHEN 1
        THEN '; meets ICP criterion: 50–1,000 employees and Software company (+30)'
        ELSE ''
      END
      WHEN p_1 > 0 AND r_1 = 2
      THEN CASE b_1
        WHEN 1
        THEN '; meets ICP criterion: based in EMEA and uses Snowflake (+18)'
        ELSE ''
      END
      WHEN p_4 > 0 AND r_4 = 2
      THEN CASE b_4 WHEN 1 THEN '; uses Salesforce (+7)' ELSE '' END
      WHEN p_5 > 0 AND r_5 = 2
      THEN CASE b_5 WHEN 1 THEN '; based in North America (+4)' ELSE '' END
      WHEN p_6 > 0 AND r_6 = 2
      THEN CASE b_6 WHEN 1 THEN '; 10M+ in annual revenue (+4)' ELSE '' END
      ELSE ''
    END + CASE
      WHEN p_0 > 0 AND r_0 = 3
      THEN CASE b_0
        WHEN 1
        THEN '; meets ICP criterion: 50–1,000 employees and Software company (+30)'
        ELSE ''
      END
      WHEN p_1 > 0 AND r_1 = 3
      THEN CASE b_1
        WHEN 1
        THEN '; meets ICP criterion: based in EMEA and uses Snowflake (+18)'
        ELSE ''
      END
      WHEN p_4 > 0 AND r_4 = 3
      THEN CASE b_4 WHEN 1 THEN '; uses Salesforce (+7)' ELSE '' END
      WHEN p_5 > 0 AND r_5 = 3
      THEN CASE b_5 WHEN 1 THEN '; based in North America (+4)' ELSE '' END
      WHEN p_6 > 0 AND r_6 = 3
      THEN CASE b_6 WHEN 1 THEN '; 10M+ in annual revenue (+4)' ELSE '' END
      ELSE ''
    END + CASE
      WHEN p_2 < 0 AND a_2 = 1
      THEN CASE b_2 WHEN 1 THEN '; disqualifier: 1–10 employees (−22)' ELSE '' END
      WHEN p_3 < 0 AND a_3 = 1
      THEN CASE b_3
        WHEN 1
        THEN '; disqualifier: ownership Government or Non-profit (−15)'
        ELSE ''
      END
      ELSE ''
    END + CASE
      WHEN p_2 < 0 AND a_2 = 2
      THEN CASE b_2 WHEN 1 THEN '; disqualifier: 1–10 employees (−22)' ELSE '' END
      WHEN p_3 < 0 AND a_3 = 2
      THEN CASE b_3
        WHEN 1
        THEN '; disqualifier: ownership Government or Non-profit (−15)'
        ELSE ''
      END
      ELSE ''
    END + CASE
      WHEN p_2 < 0 AND a_2 = 3
      THEN CASE b_2 WHEN 1 THEN '; disqualifier: 1–10 employees (−22)' ELSE '' END
      WHEN p_3 < 0 AND a_3 = 3
      THEN CASE b_3
        WHEN 1
        THEN '; disqualifier: ownership Government or Non-profit (−15)'
        ELSE ''
      END
      ELSE ''
    END,
    3,
    100000
  ) AS reasons,
  calibrated_score,
  CASE
    WHEN calibrated_score >= 85
    THEN 'very good'
    WHEN calibrated_score >= 70
    THEN 'good'
    WHEN calibrated_score >= 50
    THEN 'medium'
    ELSE 'low'
  END AS fit_band,
  p_0 AS [points_employees_in_50_1000_and_industry_software],
  p_1 AS [points_region_emea_and_tech_stack_contains_snowflake],
  p_2 AS [points_employees_in_1_10],
  p_3 AS [points_ownership_in_government_non_profit],
  p_4 AS [points_tech_stack_contains_salesforce],
  p_5 AS [points_region_north_america],
  p_6 AS [points_annual_revenue_in_10000000_inf]
FROM ranked
